package holders

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"

	"simplecloud/disk/holders/internal/kscan"
)

// FileID is what the scan needs from a stat of a file.
type FileID struct {
	Dev   Dev  // the filesystem it lies on (st_dev)
	RDev  Dev  // for a device node, the device it is (st_rdev)
	Block bool // it is a block device node
}

// StatFunc stats path, following symlinks (and /proc's magic links). The
// scanner gives each call at most Scanner.StatTimeout.
type StatFunc func(path string) (FileID, error)

// LoopFunc returns the device the backing file of loop device node path
// lies on (LOOP_GET_STATUS64); ok is false when it cannot tell.
type LoopFunc func(path string) (dev Dev, ok bool)

// Scanner finds the holders of a block device. Its directories stand for
// /proc, /sys and /dev; set them to fake trees in tests. A Scanner may be
// used by several goroutines at once.
type Scanner struct {
	ProcDir, SysDir, DevDir string
	// Stat and Loop default to the real system calls (statx with
	// AT_STATX_DONT_SYNC; LOOP_GET_STATUS64).
	Stat StatFunc
	Loop LoopFunc
	// StatTimeout bounds each stat (default 2s): a stat stuck on a hung
	// mount is abandoned and reported as a warning.
	StatTimeout time.Duration
	Workers     int // processes scanned at once; default GOMAXPROCS*2
	// Engine is how processes are found: EngineAuto (default), EngineProc
	// or EngineBPF.
	Engine string
	// CacheDir keeps what the BPF engine read from the kernel's BTF for
	// the rest of the boot (NewScanner: /run/simplecloud); "" is none.
	CacheDir string
	Log      *slog.Logger

	layoutMu sync.Mutex
	layout   *kscan.Layout // read from BTF by the first BPF scan
}

// NewScanner returns a Scanner of the running system.
func NewScanner(log *slog.Logger) *Scanner {
	return &Scanner{ProcDir: "/proc", SysDir: "/sys", DevDir: "/dev", CacheDir: "/run/simplecloud", Log: log}
}

func (s *Scanner) log() *slog.Logger {
	if s.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return s.Log
}

// stat runs Stat (or statx) with a deadline per call.
func (s *Scanner) stat(p string) (FileID, error) {
	f := s.Stat
	if f == nil {
		f = statx
	}
	d := s.StatTimeout
	if d == 0 {
		d = 2 * time.Second
	}
	return statTimeout(f, p, d)
}

func (s *Scanner) proc(elem ...string) string {
	return filepath.Join(append([]string{s.ProcDir}, elem...)...)
}

// scanState is what one Scan builds up.
type scanState struct {
	procFD int // ProcDir, opened: paths below it are looked up from here
	selfNS uint64
	pidNS  map[int]uint64
	tables map[uint64]*table
	nsPIDs map[uint64][]int
	devs   map[Dev]bool
	// unmounted holds the namespaces where a device with nothing stacked
	// on it is not mounted: its filesystem may live on detached there
	// (umount -l), so paths cannot be trusted and every file is stat'ed.
	unmounted map[uint64]bool
	hidden    map[uint64]bool // namespaces where a mount of devs is covered
	noQuery   atomic.Bool     // the kernel lacks PROCMAP_QUERY
	nodeFS    Dev             // the filesystem of DevDir, where mapped device nodes lie
	// blockNames are the kernel names of the block devices among devs,
	// and claimed those that a device stacked on them holds (see devices).
	blockNames map[Dev]string
	claimed    map[Dev]bool
	denied     atomic.Int64 // processes we may not read
	mu         sync.Mutex
	warning    []string
	devIDs     map[devKey]FileID // stats of device nodes by namespace and path
}

func newScanState() *scanState {
	return &scanState{devs: map[Dev]bool{}, hidden: map[uint64]bool{}, devIDs: map[devKey]FileID{},
		blockNames: map[Dev]string{}, claimed: map[Dev]bool{}}
}

type devKey struct {
	ns   uint64
	path string
}

// devStat stats a device node once per path: thousands of processes have
// /dev/null or a terminal open, and a node's identity does not change
// during a scan. Nodes below /dev live on a devtmpfs, so a stat cannot hang.
func (st *scanState) devStat(s *Scanner, ns uint64, link, path string) (FileID, error) {
	key := devKey{ns, path}
	st.mu.Lock()
	id, ok := st.devIDs[key]
	st.mu.Unlock()
	if ok {
		return id, nil
	}
	id, err := s.stat(link)
	if err != nil {
		return id, err
	}
	st.mu.Lock()
	st.devIDs[key] = id
	st.mu.Unlock()
	return id, nil
}

func (st *scanState) warn(format string, args ...any) {
	st.mu.Lock()
	st.warning = append(st.warning, fmt.Sprintf(format, args...))
	st.mu.Unlock()
}

// Scan finds everything that holds target: a device path, a
// device-mapper name, MAJOR:MINOR or a mount point.
func (s *Scanner) Scan(ctx context.Context, target string) (Report, error) {
	st := newScanState()
	var err error
	if st.procFD, err = openDir(s.ProcDir); err != nil {
		return Report{}, fmt.Errorf("open %s: %w", s.ProcDir, err)
	}
	defer closeFD(st.procFD)
	var dst unix.Stat_t
	if unix.Stat(s.DevDir, &dst) == nil {
		st.nodeFS = Dev{unix.Major(dst.Dev), unix.Minor(dst.Dev)}
	}
	if err := s.readSelf(st); err != nil {
		return Report{}, err
	}
	dev, err := s.resolve(target, st.tables[st.selfNS])
	if err != nil {
		return Report{}, err
	}
	r := Report{Target: target, Dev: dev, Processes: []Process{}, Mounts: []Mount{}, Swaps: []Swap{},
		Loops: []Loop{}, Stacked: []Stacked{}, Kernel: []string{}}
	r.Name = s.kname(dev)
	r.DMName = s.readTrim(filepath.Join(s.SysDir, "class", "block", r.Name, "dm", "name"))
	if err := s.devices(st, &r); err != nil {
		return Report{}, err
	}
	for d := range st.devs {
		r.Devices = append(r.Devices, d)
	}
	slices.SortFunc(r.Devices, cmpDev)
	found, err := s.tryBPF(st, r.Devices)
	if err != nil {
		return Report{}, err
	}
	if found == nil {
		if err := s.readPIDNamespaces(st); err != nil {
			return Report{}, err
		}
	}
	s.readTables(st)
	r.Mounts = s.mounts(st)
	st.unmounted = unmountedLeaf(r, st.tables)
	for ns, t := range st.tables {
		st.hidden[ns] = t.hidden(st.devs)
	}
	var procs []Process
	if found != nil {
		procs, err = s.bpfProcesses(ctx, st, found)
	} else {
		procs, err = s.processes(ctx, st)
	}
	if err != nil {
		return Report{}, err
	}
	r.Processes = procs
	if n := st.denied.Load(); n > 0 {
		st.warn("could not read %d processes (permission denied); run as root to see them all", n)
	}
	r.Swaps = s.swaps(st)
	r.Kernel = s.kernelUsers(st)
	r.Warnings = st.warning
	engine := EngineProc
	if found != nil {
		engine = EngineBPF
	}
	s.log().Debug("scanned holders", "engine", engine, "target", target, "device", dev.String(), "devices", len(r.Devices),
		"processes", len(r.Processes), "mounts", len(r.Mounts), "namespaces", len(st.tables))
	return r, nil
}

// unmountedLeaf returns the namespaces in which some device of the report
// that has nothing stacked on it is not mounted.
func unmountedLeaf(r Report, tables map[uint64]*table) map[uint64]bool {
	stacked := map[Dev]bool{}
	for _, s := range r.Stacked {
		stacked[s.On] = true
	}
	swap := map[Dev]bool{}
	for _, s := range r.Swaps {
		swap[s.Dev] = true
	}
	out := map[uint64]bool{}
	for ns := range tables {
		mounted := map[Dev]bool{}
		for _, m := range r.Mounts {
			if m.Namespace == ns {
				mounted[m.Dev] = true
			}
		}
		for _, d := range r.Devices {
			if !stacked[d] && !swap[d] && !mounted[d] {
				out[ns] = true
			}
		}
	}
	return out
}

func cmpDev(a, b Dev) int {
	if a.Major != b.Major {
		return int(a.Major) - int(b.Major)
	}
	return int(a.Minor) - int(b.Minor)
}

// pids lists the numeric entries of ProcDir in order.
func (s *Scanner) pids() ([]int, error) {
	ents, err := os.ReadDir(s.ProcDir)
	if err != nil {
		return nil, fmt.Errorf("list processes: %w", err)
	}
	var out []int
	for _, e := range ents {
		if pid, err := strconv.Atoi(e.Name()); err == nil {
			out = append(out, pid)
		}
	}
	slices.Sort(out)
	return out, nil
}

// readSelf reads the scanner's own mount namespace and its mount table.
func (s *Scanner) readSelf(st *scanState) error {
	link, err := os.Readlink(s.proc("self", "ns", "mnt"))
	if err != nil {
		return fmt.Errorf("read own mount namespace: %w", err)
	}
	if st.selfNS, err = parseNS(link); err != nil {
		return err
	}
	st.tables = map[uint64]*table{}
	t, err := s.readTable(st.selfNS, "self")
	if err != nil {
		return err
	}
	st.tables[st.selfNS] = t
	return nil
}

// readPIDNamespaces groups the processes by mount namespace, from /proc.
func (s *Scanner) readPIDNamespaces(st *scanState) error {
	pids, err := s.pids()
	if err != nil {
		return err
	}
	nss := make([]uint64, len(pids))
	parallel(len(pids), numWorkers(s.Workers), func(io *fastIO, i int) {
		link, err := io.readlinkAt(st.procFD, strconv.Itoa(pids[i])+"/ns/mnt")
		if err == nil {
			nss[i], _ = parseNS(link) // 0: gone, or a process we may not read
		} else if errors.Is(err, unix.EACCES) || errors.Is(err, unix.EPERM) {
			st.denied.Add(1)
		}
	})
	st.setNamespaces(pids, nss)
	return nil
}

// setNamespaces records which mount namespace each process lives in
// (0: unknown).
func (st *scanState) setNamespaces(pids []int, nss []uint64) {
	st.pidNS = make(map[int]uint64, len(pids))
	st.nsPIDs = map[uint64][]int{}
	for i, pid := range pids {
		if nss[i] != 0 {
			st.pidNS[pid] = nss[i]
			st.nsPIDs[nss[i]] = append(st.nsPIDs[nss[i]], pid)
		}
	}
}

// readTables reads each other namespace's mount table once, from a
// process whose root is the namespace's root when there is one.
func (s *Scanner) readTables(st *scanState) {
	for ns, members := range st.nsPIDs {
		if st.tables[ns] != nil {
			continue
		}
		// Prefer a member whose root is the namespace's root: mountinfo is
		// written relative to the reader's root.
		order := slices.Clone(members[:min(len(members), 8)])
		for i, pid := range order {
			if r, _ := os.Readlink(s.proc(strconv.Itoa(pid), "root")); r == "/" {
				order[0], order[i] = order[i], order[0]
				break
			}
		}
		for _, pid := range order {
			if t, err := s.readTable(ns, strconv.Itoa(pid)); err == nil {
				st.tables[ns] = t
				break
			}
		}
	}
}

func (s *Scanner) readTable(ns uint64, pid string) (*table, error) {
	f, err := os.Open(s.proc(pid, "mountinfo"))
	if err != nil {
		return nil, fmt.Errorf("read mount table of pid %s: %w", pid, err)
	}
	defer f.Close()
	es, err := parseMountinfo(f)
	if err != nil {
		return nil, fmt.Errorf("read mount table of pid %s: %w", pid, err)
	}
	return newTable(ns, es), nil
}

// readTrim returns the content of a small file without surrounding space,
// or "" when it cannot be read.
func (s *Scanner) readTrim(p string) string {
	b, err := os.ReadFile(p)
	if err != nil {
		return ""
	}
	return string(trimSpace(b))
}

func trimSpace(b []byte) []byte {
	for len(b) > 0 && (b[len(b)-1] == '\n' || b[len(b)-1] == ' ' || b[len(b)-1] == 0) {
		b = b[:len(b)-1]
	}
	return b
}

// parallel calls f(io, i) for i in [0, n) on the given number of
// goroutines, each with its own fastIO. The goroutines take the next index
// from a counter: a channel send per index costs a wake-up each.
func parallel(n, workers int, f func(io *fastIO, i int)) {
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(workers, n) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			io := newFastIO()
			for i := int(next.Add(1) - 1); i < n; i = int(next.Add(1) - 1) {
				f(io, i)
			}
		}()
	}
	wg.Wait()
}

func numWorkers(n int) int {
	if n > 0 {
		return n
	}
	return 2 * runtime.GOMAXPROCS(0)
}
