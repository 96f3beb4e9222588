package holders

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"time"

	"simplecloud/disk/holders/internal/kscan"
)

// Engines a Scanner finds processes with.
const (
	// EngineAuto uses BPF iterators where the kernel and privileges allow,
	// and /proc otherwise.
	EngineAuto = ""
	// EngineProc reads /proc/PID/{cwd,root,exe,fd,maps} of every process,
	// as fuser and lsof do.
	EngineProc = "proc"
	// EngineBPF asks the kernel through BPF task, file and mapping
	// iterators (Linux 5.12+ with BTF, CAP_BPF and CAP_PERFMON); it fails
	// rather than fall back.
	EngineBPF = "bpf"
)

// ParseEngine checks an engine name given by a user.
func ParseEngine(s string) (string, error) {
	switch s {
	case "auto":
		return EngineAuto, nil
	case EngineAuto, EngineProc, EngineBPF:
		return s, nil
	}
	return "", fmt.Errorf("unknown scan engine %q: want auto, proc or bpf", s)
}

// tryBPF runs the BPF iterators for devs when the engine allows it. It
// returns nil (and no error) when the scan should read /proc instead; on
// success it has recorded every process's mount namespace in st.
func (s *Scanner) tryBPF(st *scanState, devs []Dev) (*kscan.Result, error) {
	switch {
	case s.Engine == EngineProc:
		return nil, nil
	case s.Engine == EngineAuto && (s.ProcDir != "/proc" || s.SysDir != "/sys" || os.Geteuid() != 0):
		return nil, nil // a fake tree, or no privilege to load BPF
	}
	res, err := s.scanBPF(st, devs)
	if err != nil {
		if s.Engine == EngineBPF {
			return nil, fmt.Errorf("scan processes with BPF: %w", err)
		}
		s.log().Debug("BPF scan unavailable, reading /proc", "err", err)
		return nil, nil
	}
	var pids []int
	var nss []uint64
	for _, t := range res.Tasks {
		if t.TGID == t.TID {
			pids, nss = append(pids, int(t.TGID)), append(nss, t.MountNS)
		}
	}
	st.setNamespaces(pids, nss)
	return res, nil
}

// scanBPF runs the iterators, with the kernel's layout read once per
// Scanner (a close or the live screen scans again and again).
func (s *Scanner) scanBPF(st *scanState, devs []Dev) (*kscan.Result, error) {
	s.layoutMu.Lock()
	if s.layout == nil {
		l, err := kscan.CachedLayout(s.log(), s.CacheDir, s.ProcDir, s.SysDir)
		if err != nil {
			s.layoutMu.Unlock()
			return nil, err
		}
		s.layout = &l
	}
	l := *s.layout
	s.layoutMu.Unlock()
	kdevs := make([]kscan.Dev, len(devs))
	for i, d := range devs {
		kdevs[i] = kscan.Dev(d)
	}
	if !l.CanProbeMapped() {
		return kscan.Scan(s.log(), l, kdevs, st.selfNS, nil)
	}
	mapped := make(chan int, 1)
	go func() { mapped <- s.probeMapped(l, st, devs) }()
	return kscan.Scan(s.log(), l, kdevs, st.selfNS, mapped)
}

// probeMapped asks the kernel whether anything on devs is mapped at all
// (see kscan.ProbeMapped); -1 when it cannot ask, and the mappings must
// be walked.
func (s *Scanner) probeMapped(l kscan.Layout, st *scanState, devs []Dev) int {
	return s.probeMappedLimit(l, st, devs, kscan.MappedInodeLimit(processCount(s.ProcDir)))
}

// probeMappedLimit is probeMapped with a limit on the inodes it walks.
func (s *Scanner) probeMappedLimit(l kscan.Layout, st *scanState, devs []Dev, limit int32) int {
	if !l.CanProbeMapped() {
		return -1
	}
	// The probe reads the descriptor table of the thread it runs for: the
	// one that opened the objects (a thread may have a table of its own).
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	objs, closeAll, ok := s.mappedObjects(st, devs)
	if !ok {
		return -1
	}
	defer closeAll()
	begin := time.Now()
	ans, err := kscan.ProbeMapped(l, objs, limit)
	if err != nil {
		s.log().Debug("mapped-files probe failed; walking every mapping", "err", err)
		return -1
	}
	s.log().Debug("mapped-files probe", "answer", ans, "objects", len(objs), "inode_limit", limit, "took", time.Since(begin))
	return ans
}

// bpfHolder gathers what the iterators found for one process.
type bpfHolder struct {
	info    kscan.ProcInfo
	leader  *kscan.TaskRecord  // when the leader holds something or lives in another namespace
	threads []kscan.TaskRecord // threads other than the leader that hold something
	fds     []kscan.FileRecord
	maps    bool
}

// bpfProcesses turns what the iterators found into processes, reading
// from /proc only the paths of the holds (once per mount and dentry), the
// command line, and the unit (once per css_set) of the processes that hold
// something.
func (s *Scanner) bpfProcesses(ctx context.Context, st *scanState, res *kscan.Result) ([]Process, error) {
	byPID := map[int]*bpfHolder{}
	get := func(info kscan.ProcInfo) *bpfHolder {
		h := byPID[int(info.TGID)]
		if h == nil {
			h = &bpfHolder{info: info}
			byPID[int(info.TGID)] = h
		}
		return h
	}
	for i := range res.Tasks {
		t := &res.Tasks[i]
		switch {
		case t.Has(kscan.KindKernel):
			// A kernel thread, in another namespace: it holds nothing.
		case t.Kinds == 0 && st.mountNSHolds(t.MountNS) == nil:
			// A leader in another namespace that holds nothing there.
		case t.TGID == t.TID:
			get(t.ProcInfo).leader = t
		default:
			h := get(t.ProcInfo)
			h.threads = append(h.threads, *t)
		}
	}
	for _, f := range res.Files {
		h := get(f.ProcInfo)
		h.fds = append(h.fds, f)
	}
	for _, m := range res.Maps {
		get(m.ProcInfo).maps = true
	}
	pids := make([]int, 0, len(byPID))
	for pid, h := range byPID {
		if h.leader != nil {
			h.maps = h.maps || (h.leader.Has(kscan.KindMap) || h.leader.Has(kscan.KindMapsBusy))
		}
		pids = append(pids, pid)
	}
	slices.Sort(pids)
	results := make([]*Process, len(pids))
	c := &bpfCache{paths: map[kscan.PathKey]string{}, units: map[uint64]string{}}
	parallel(len(pids), numWorkers(s.Workers), func(io *fastIO, i int) {
		if ctx.Err() == nil {
			results[i] = s.bpfProcess(st, io, c, pids[i], byPID[pids[i]])
		}
	})
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return s.named(results), nil
}

// mountNSHolds returns the mounts of st.devs in namespace ns when it is
// not the scanner's own.
func (st *scanState) mountNSHolds(ns uint64) []Hold {
	t := st.tables[ns]
	if ns == st.selfNS || t == nil {
		return nil
	}
	var holds []Hold
	for _, e := range t.entries {
		if st.devs[e.dev] {
			holds = append(holds, Hold{Kind: HoldMountNS, Path: e.mountPoint, Dev: e.dev})
		}
	}
	return holds
}

// bpfProcess builds one process from what the iterators found; nil when
// it is gone.
func (s *Scanner) bpfProcess(st *scanState, io *fastIO, c *bpfCache, pid int, h *bpfHolder) *Process {
	dir := strconv.Itoa(pid) + "/"
	var holds []Hold
	for i, kind := range []string{HoldCwd, HoldRoot, HoldExe} {
		link, dev, ok := s.threadLink(io, st.procFD, c, dir, h, i, kind)
		if ok {
			holds = append(holds, Hold{Kind: kind, Path: cleanLink(link), Dev: dev})
		}
	}
	slices.SortFunc(h.fds, func(a, b kscan.FileRecord) int { return int(a.FD) - int(b.FD) })
	for _, f := range h.fds {
		fdDir := dir // a thread with a descriptor table of its own has its own fd directory
		if f.TID != 0 && int(f.TID) != pid {
			fdDir += "task/" + strconv.Itoa(int(f.TID)) + "/"
		}
		link, err := c.path(f.Path, func() (string, error) {
			return io.readlinkAt(st.procFD, fdDir+"fd/"+strconv.Itoa(int(f.FD)))
		})
		if err != nil {
			continue // closed since
		}
		holds = append(holds, Hold{Kind: HoldFD, Path: cleanLink(link), FD: int(f.FD), Dev: Dev(f.Dev.Dev())})
	}
	if h.maps {
		if dirfd, err := openDirAt(st.procFD, strconv.Itoa(pid)); err == nil {
			pc := procCtx{s: s, st: st, io: io}
			for _, m := range pc.maps(dirfd) {
				holds = append(holds, Hold{Kind: HoldMap, Path: m.path, Dev: m.dev})
			}
			closeFD(dirfd)
		}
	}
	ns := h.info.MountNS
	holds = append(holds, st.mountNSHolds(ns)...)
	if len(holds) == 0 {
		return nil // closed since, or only its mappings were unknown
	}
	p := &Process{PID: pid, UID: int(h.info.UID), MountNS: ns, Holds: holds, StartTime: h.info.StartTicks()}
	cmdline, err := io.cmdline(st.procFD, dir, pid, h.info)
	if err != nil && len(h.fds)+len(h.threads) == 0 && (h.leader == nil || h.leader.Kinds == 0) && !h.maps {
		return nil // gone, and it held nothing but its namespace
	}
	p.Command = parseCmdline(cmdline, h.info.Command())
	p.Unit = c.unit(h.info.CSS, func() (string, bool) {
		b, err := io.readRecordAt(st.procFD, dir+"cgroup")
		if err != nil {
			return "", false
		}
		return parseUnit(b), true
	})
	return p
}

// threadLink returns the target of the process's cwd, root or exe link
// (bit i of the task kinds) when the leader or another thread holds it,
// read from the thread that does.
func (s *Scanner) threadLink(io *fastIO, procFD int, c *bpfCache, dir string, h *bpfHolder, i int, kind string) (string, Dev, bool) {
	read := func(t *kscan.TaskRecord, link string) (string, Dev, bool) {
		var key kscan.PathKey
		if i == kscan.KindCwd {
			key = t.Path
		}
		p, err := c.path(key, func() (string, error) { return io.readlinkAt(procFD, link) })
		return p, Dev(t.Devs[i].Dev()), err == nil
	}
	if h.leader != nil && h.leader.Has(i) {
		return read(h.leader, dir+kind)
	}
	for j := range h.threads {
		if t := &h.threads[j]; t.Has(i) {
			return read(t, dir+"task/"+strconv.Itoa(int(t.TID))+"/"+kind)
		}
	}
	return "", Dev{}, false
}

// bpfCache keeps what one scan read from /proc for paths and units that
// several processes share.
type bpfCache struct {
	mu    sync.Mutex
	paths map[kscan.PathKey]string
	units map[uint64]string // by css_set
}

// path returns the path of key, read with read on its first use (always,
// for an unknown key).
func (c *bpfCache) path(key kscan.PathKey, read func() (string, error)) (string, error) {
	if key.Mnt == 0 || key.Dentry == 0 {
		return read()
	}
	c.mu.Lock()
	p, ok := c.paths[key]
	c.mu.Unlock()
	if ok {
		return p, nil
	}
	p, err := read()
	if err == nil {
		c.mu.Lock()
		c.paths[key] = p
		c.mu.Unlock()
	}
	return p, err
}

// unit returns the unit of css, read with read until a read succeeds
// (always, for an unknown css_set).
func (c *bpfCache) unit(css uint64, read func() (string, bool)) string {
	c.mu.Lock()
	u, ok := c.units[css]
	c.mu.Unlock()
	if ok && css != 0 {
		return u
	}
	u, ok = read()
	if ok && css != 0 {
		c.mu.Lock()
		c.units[css] = u
		c.mu.Unlock()
	}
	return u
}
