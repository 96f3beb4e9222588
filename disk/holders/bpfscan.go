package holders

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strconv"
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
func (s *Scanner) tryBPF(st *scanState, devs []Dev) (*bpfResult, error) {
	switch {
	case s.Engine == EngineProc:
		return nil, nil
	case s.Engine == EngineAuto && (s.ProcDir != "/proc" || s.SysDir != "/sys" || os.Geteuid() != 0):
		return nil, nil // a fake tree, or no privilege to load BPF
	}
	res, err := s.scanBPF(devs)
	if err != nil {
		if s.Engine == EngineBPF {
			return nil, fmt.Errorf("scan processes with BPF: %w", err)
		}
		s.log().Debug("BPF scan unavailable, reading /proc", "err", err)
		return nil, nil
	}
	var pids []int
	var nss []uint64
	for _, t := range res.tasks {
		if t.TGID == t.TID {
			pids, nss = append(pids, int(t.TGID)), append(nss, t.MountNS)
		}
	}
	st.setNamespaces(pids, nss)
	return res, nil
}

// scanBPF runs the iterators, with the kernel's layout read once per
// Scanner (a close or the live screen scans again and again).
func (s *Scanner) scanBPF(devs []Dev) (*bpfResult, error) {
	s.layoutMu.Lock()
	if s.layout == nil {
		l, err := cachedLayout(s.log(), s.CacheDir, s.ProcDir, s.SysDir)
		if err != nil {
			s.layoutMu.Unlock()
			return nil, err
		}
		s.layout = &l
	}
	l := *s.layout
	s.layoutMu.Unlock()
	return scanBPF(s.log(), l, devs)
}

// bpfHolder gathers what the iterators found for one process.
type bpfHolder struct {
	leader  *taskRecord
	threads []taskRecord // threads other than the leader that hold something
	fds     []fileRecord
	maps    bool
}

// bpfProcesses turns what the iterators found into processes, reading
// from /proc only the paths of the holds and the command line and unit
// of the processes that hold something.
func (s *Scanner) bpfProcesses(ctx context.Context, st *scanState, res *bpfResult) ([]Process, error) {
	byPID := map[int]*bpfHolder{}
	get := func(tgid uint32) *bpfHolder {
		h := byPID[int(tgid)]
		if h == nil {
			h = &bpfHolder{}
			byPID[int(tgid)] = h
		}
		return h
	}
	leaders := map[uint32]*taskRecord{}
	for i := range res.tasks {
		t := &res.tasks[i]
		switch {
		case t.Kinds&(1<<taskKernel) != 0:
			// Holds nothing; counted in its namespace only.
		case t.TGID == t.TID:
			leaders[t.TGID] = t
			if t.Kinds != 0 || st.mountNSHolds(t.MountNS) != nil {
				get(t.TGID)
			}
		case t.Kinds != 0:
			get(t.TGID).threads = append(get(t.TGID).threads, *t)
		}
	}
	for _, f := range res.files {
		get(f.TGID).fds = append(get(f.TGID).fds, f)
	}
	for _, m := range res.maps {
		get(m.TGID).maps = true
	}
	pids := make([]int, 0, len(byPID))
	for pid, h := range byPID {
		if h.leader = leaders[uint32(pid)]; h.leader != nil {
			h.maps = h.maps || h.leader.Kinds&(1<<taskMap|1<<taskMapsBusy) != 0
			pids = append(pids, pid)
		}
	}
	slices.Sort(pids)
	results := make([]*Process, len(pids))
	parallel(len(pids), numWorkers(s.Workers), func(io *fastIO, i int) {
		if ctx.Err() == nil {
			results[i] = s.bpfProcess(st, io, pids[i], byPID[pids[i]])
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
func (s *Scanner) bpfProcess(st *scanState, io *fastIO, pid int, h *bpfHolder) *Process {
	dir := strconv.Itoa(pid) + "/"
	var holds []Hold
	for i, kind := range []string{HoldCwd, HoldRoot, HoldExe} {
		link, dev, ok := s.threadLink(io, st.procFD, dir, h, i, kind)
		if ok {
			holds = append(holds, Hold{Kind: kind, Path: cleanLink(link), Dev: dev})
		}
	}
	slices.SortFunc(h.fds, func(a, b fileRecord) int { return int(a.FD) - int(b.FD) })
	for _, f := range h.fds {
		link, err := io.readlinkAt(st.procFD, dir+"fd/"+strconv.Itoa(int(f.FD)))
		if err != nil {
			continue // closed since
		}
		holds = append(holds, Hold{Kind: HoldFD, Path: cleanLink(link), FD: int(f.FD), Dev: userDev(f.Dev)})
	}
	if h.maps {
		if dirfd, err := openDirAt(st.procFD, strconv.Itoa(pid)); err == nil {
			c := procCtx{s: s, st: st, io: io}
			for _, m := range c.maps(dirfd) {
				holds = append(holds, Hold{Kind: HoldMap, Path: m.path, Dev: m.dev})
			}
			closeFD(dirfd)
		}
	}
	ns := h.leader.MountNS
	holds = append(holds, st.mountNSHolds(ns)...)
	if len(holds) == 0 {
		return nil // closed since, or only its mappings were unknown
	}
	p := &Process{PID: pid, UID: int(h.leader.UID), MountNS: ns, Holds: holds,
		StartTime: clockTicks(h.leader.StartNS)}
	cmdline, err := io.readRecordAt(st.procFD, dir+"cmdline")
	if err != nil && len(h.fds)+len(h.threads) == 0 && h.leader.Kinds == 0 && !h.maps {
		return nil // gone, and it held nothing but its namespace
	}
	p.Command = parseCmdline(cmdline, commString(h.leader.Comm))
	if b, err := io.readRecordAt(st.procFD, dir+"cgroup"); err == nil {
		p.Unit = parseUnit(b)
	}
	return p
}

// threadLink returns the target of the process's cwd, root or exe link
// (bit i of the task kinds) when the leader or another thread holds it,
// read from the thread that does.
func (s *Scanner) threadLink(io *fastIO, procFD int, dir string, h *bpfHolder, i int, kind string) (string, Dev, bool) {
	if h.leader.Kinds&(1<<i) != 0 {
		link, err := io.readlinkAt(procFD, dir+kind)
		return link, userDev(h.leader.Devs[i]), err == nil
	}
	for _, t := range h.threads {
		if t.Kinds&(1<<i) != 0 {
			link, err := io.readlinkAt(procFD, dir+"task/"+strconv.Itoa(int(t.TID))+"/"+kind)
			return link, userDev(t.Devs[i]), err == nil
		}
	}
	return "", Dev{}, false
}
