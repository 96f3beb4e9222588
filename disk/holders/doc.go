// Package holders finds everything that keeps a block device busy and stops
// it in order so the device can be closed.
//
// A Scanner reads /proc and /sys (their roots are fields, so tests run on
// fake trees) and returns a Report: the device and every device stacked on
// it (partitions, sysfs holders recursively, and loop devices backed by a
// file on it); the processes with an open file, a cwd, root, exe or memory
// map on any of them, or living in a mount namespace where one is mounted;
// their mounts in every mount namespace (each namespace's mountinfo read
// once, from one of its processes), with the mounts of other devices inside
// them; swap areas; kernel users such as nfsd exports.
//
// Whether a process's file lies on the device is decided from the text of
// /proc/PID/fd/N and the mount table of the process's namespace wherever
// that is certain, and by statx (AT_STATX_DONT_SYNC, at most StatTimeout a
// call) where it is not: for a process chrooted away from its namespace's
// root, in a namespace where a mount of the device is covered by another,
// in a namespace where a device is mounted nowhere (a filesystem detached by
// umount -l lives on), and for paths below /dev (device nodes, stat'ed once
// per path). Files on network and FUSE mounts are never stat'ed, so a hung
// server cannot hang the scan. Memory maps come with their device number
// from PROCMAP_QUERY (or the text of /proc/PID/maps on older kernels); a
// mapping of a device node, which lies on the node's filesystem, is
// stat'ed through /proc/PID/map_files.
//
// The BPF engine (Linux 5.12+ with BTF, as root; package internal/kscan)
// has the kernel walk every task, descriptor and mapping in iterator
// programs instead, and returns a record for each hold; the scanner reads
// from /proc only the paths, command lines and units of the holders. On
// 6.7+ a probe first checks whether anything on the devices is mapped at
// all (the i_mmap trees of every inode of their filesystems and of the
// devices' own page cache); when nothing is, the walk of every mapping is
// left out.
//
// MakePlan turns a Report into ordered steps: stop the holder processes
// (a systemd service by its unit), then, from the top of the device stack
// down, swapoff, unmount in every namespace (other namespaces first, inner
// mounts first) and remove the stacked devices of each level; the mapping
// itself comes last. It is a pure function. An Applier carries a plan out
// through the Ops interface (LinuxOps is the real one): every signal goes
// through a pidfd checked against the process's start time, an unmount in
// another namespace enters it on a locked thread of its own, a lazy unmount
// or a loop device only marked for detaching never counts as done.
package holders
