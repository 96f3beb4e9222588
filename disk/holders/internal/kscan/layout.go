package kscan

import "fmt"

// Layout holds the field offsets the programs read.
type Layout struct {
	taskTgid, taskPid, taskFS, taskMM, taskNSProxy, taskCred, taskStart, taskComm int32
	fsPwd, fsRoot, dentrySB, sbDev, mmExe, fileInode                              int32
	inodeSB, inodeMode, inodeRdev, nsproxyMnt, mntnsInum, credUID, vmaFile        int32
	taskGroupLeader, fsPwdMnt, fileMnt, fileDentry                                int32
	taskCgroups                                                                   int32 // -1: no cgroups
	taskFiles, filesFdt, fdtMaxFds, fdtFd, fdtOpenFds                             int32
	mmArgStart, mmArgEnd                                                          int32
	// Where the mapped-files probe looks (-1 where the kernel lacks one).
	sbInodes, inodeSbList, inodeMapping, mappingMmap, fileMapping int32
	// task, file and vma are the BTF ids of the structs the iterators
	// pass; rdonlyCast, vmaNew, vmaNext and vmaDestroy those of kfuncs
	// (0 where the kernel lacks them).
	task, file, vma, inode                  int32
	rdonlyCast, vmaNew, vmaNext, vmaDestroy int32
	numNew, numNext, numDestroy             int32
	// iters are the BTF ids of the iterators' functions, by name.
	iters map[string]uint32
}

// structs are the structs whose BTF ids the programs need.
func (l *Layout) structs() map[string]*int32 {
	return map[string]*int32{"task_struct": &l.task, "file": &l.file, "vm_area_struct": &l.vma, "inode": &l.inode}
}

// kfuncs are the kfuncs the programs use where the kernel has them.
func (l *Layout) kfuncs() map[string]*int32 {
	return map[string]*int32{"bpf_rdonly_cast": &l.rdonlyCast, "bpf_iter_task_vma_new": &l.vmaNew,
		"bpf_iter_task_vma_next": &l.vmaNext, "bpf_iter_task_vma_destroy": &l.vmaDestroy,
		"bpf_iter_num_new": &l.numNew, "bpf_iter_num_next": &l.numNext, "bpf_iter_num_destroy": &l.numDestroy}
}

// layoutFields names where each offset comes from.
func (l *Layout) fields() []layoutField {
	return []layoutField{
		{&l.taskTgid, "task_struct", "tgid"}, {&l.taskPid, "task_struct", "pid"},
		{&l.taskFS, "task_struct", "fs"}, {&l.taskMM, "task_struct", "mm"},
		{&l.taskNSProxy, "task_struct", "nsproxy"}, {&l.taskCred, "task_struct", "real_cred"},
		{&l.taskStart, "task_struct", "start_boottime"}, {&l.taskComm, "task_struct", "comm"},
		{&l.fsPwd, "fs_struct", "pwd.dentry"}, {&l.fsRoot, "fs_struct", "root.dentry"},
		{&l.dentrySB, "dentry", "d_sb"}, {&l.sbDev, "super_block", "s_dev"},
		{&l.mmExe, "mm_struct", "exe_file"}, {&l.fileInode, "file", "f_inode"},
		{&l.inodeSB, "inode", "i_sb"}, {&l.inodeMode, "inode", "i_mode"}, {&l.inodeRdev, "inode", "i_rdev"},
		{&l.nsproxyMnt, "nsproxy", "mnt_ns"}, {&l.mntnsInum, "mnt_namespace", "ns.inum"},
		{&l.credUID, "cred", "uid.val"}, {&l.vmaFile, "vm_area_struct", "vm_file"},
		{&l.taskGroupLeader, "task_struct", "group_leader"}, {&l.fsPwdMnt, "fs_struct", "pwd.mnt"},
		{&l.fileMnt, "file", "f_path.mnt"}, {&l.fileDentry, "file", "f_path.dentry"},
		{&l.taskCgroups, "task_struct", "cgroups"},
		{&l.taskFiles, "task_struct", "files"}, {&l.filesFdt, "files_struct", "fdt"},
		{&l.fdtMaxFds, "fdtable", "max_fds"}, {&l.fdtFd, "fdtable", "fd"}, {&l.fdtOpenFds, "fdtable", "open_fds"},
		{&l.mmArgStart, "mm_struct", "arg_start"}, {&l.mmArgEnd, "mm_struct", "arg_end"},
		{&l.sbInodes, "super_block", "s_inodes"}, {&l.inodeSbList, "inode", "i_sb_list"},
		{&l.inodeMapping, "inode", "i_mapping"}, {&l.fileMapping, "file", "f_mapping"},
		{&l.mappingMmap, "address_space", "i_mmap.rb_root.rb_node"},
	}
}

// layoutField is one offset of the layout and where it comes from.
type layoutField struct {
	dst          *int32
	strct, field string
}

// optionalFields are the fields the programs can do without (-1 then):
// a kernel without cgroups has no task_struct.cgroups.
var optionalFields = map[string]bool{"task_struct.cgroups": true,
	"super_block.s_inodes": true, "inode.i_sb_list": true, "inode.i_mapping": true, "file.f_mapping": true,
	"address_space.i_mmap.rb_root.rb_node": true}

// iterFuncs are the BTF functions of the iterators the programs attach to.
var iterFuncs = []string{"bpf_iter_task", "bpf_iter_task_file", "bpf_iter_task_vma"}

// newKernelLayout reads the offsets from the kernel's BTF, and indexes the
// iterator functions too.
func newKernelLayout(k *kernelBTF) (Layout, error) {
	var l Layout
	var wants []btfName
	for _, f := range l.fields() {
		wants = append(wants, btfName{btfStruct, f.strct})
	}
	for _, f := range iterFuncs {
		wants = append(wants, btfName{btfFunc, f})
	}
	for name := range l.kfuncs() {
		wants = append(wants, btfName{btfFunc, name})
	}
	if err := k.index(wants); err != nil {
		return l, err
	}
	for name, dst := range l.kfuncs() {
		id, _ := k.find(btfFunc, name)
		*dst = int32(id)
	}
	l.iters = map[string]uint32{}
	for _, f := range iterFuncs {
		id, err := k.find(btfFunc, f)
		if err != nil {
			return l, err
		}
		l.iters[f] = id
	}
	if l.vmaNew == 0 || l.vmaNext == 0 || l.vmaDestroy == 0 {
		l.vmaNew = 0
	}
	if l.numNew == 0 || l.numNext == 0 || l.numDestroy == 0 {
		l.numNew = 0
	}
	for name, dst := range l.structs() {
		id, err := k.find(btfStruct, name)
		if err != nil {
			return l, err
		}
		*dst = int32(id)
	}
	for _, f := range l.fields() {
		off, err := k.offset(f.strct, f.field)
		if err != nil && optionalFields[f.strct+"."+f.field] {
			*f.dst = -1
			continue
		}
		if err != nil {
			return l, err
		}
		if off > 1<<15-16 {
			return l, fmt.Errorf("find %s.%s in kernel BTF: offset %d too large for a BPF load", f.strct, f.field, off)
		}
		*f.dst = off
	}
	return l, nil
}
