package holders

import (
	"context"
	"errors"
	"os"
	"os/user"
	"slices"
	"strconv"

	"golang.org/x/sys/unix"
)

// processes scans every process for holds on st.devs, several at a time.
func (s *Scanner) processes(ctx context.Context, st *scanState) ([]Process, error) {
	pids := make([]int, 0, len(st.pidNS))
	for pid := range st.pidNS {
		pids = append(pids, pid)
	}
	slices.Sort(pids)
	results := make([]*Process, len(pids))
	parallel(len(pids), numWorkers(s.Workers), func(io *fastIO, i int) {
		if ctx.Err() == nil {
			results[i] = s.process(st, io, pids[i])
		}
	})
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return s.named(results), nil
}

// named returns the processes found, with their users' names.
func (s *Scanner) named(results []*Process) []Process {
	out := make([]Process, 0, len(results))
	users := map[int]string{}
	for _, p := range results {
		if p == nil {
			continue
		}
		if _, ok := users[p.UID]; !ok {
			users[p.UID] = userName(p.UID)
		}
		p.User = users[p.UID]
		out = append(out, *p)
	}
	return out
}

func userName(uid int) string {
	if u, err := user.LookupId(strconv.Itoa(uid)); err == nil {
		return u.Username
	}
	return strconv.Itoa(uid)
}

// procCtx is what deciding one process's holds needs.
type procCtx struct {
	s     *Scanner
	st    *scanState
	io    *fastIO
	ns    uint64
	dir   string
	t     *table
	exact bool // stat every file: the text of a path cannot be trusted
}

// linkNames are the links of /proc/PID a process holds things by, in the
// order its holds are reported.
var linkNames = [...]string{HoldCwd, HoldRoot, HoldExe}

// process returns the holds of one process, or nil if it holds nothing
// (or is gone).
func (s *Scanner) process(st *scanState, io *fastIO, pid int) *Process {
	ns := st.pidNS[pid]
	c := procCtx{s: s, st: st, io: io, ns: ns, dir: s.proc(strconv.Itoa(pid)), t: st.tables[ns]}
	dirfd, err := openDirAt(st.procFD, strconv.Itoa(pid))
	if err != nil {
		return nil // gone
	}
	defer closeFD(dirfd)
	// exe first: a kernel thread (or a zombie) has none, and holds nothing.
	var links [3]string
	for _, i := range [...]int{2, 0, 1} {
		l, err := io.readlinkAt(dirfd, linkNames[i])
		if err != nil {
			// Gone, not ours to read, or (no exe) a kernel thread or a
			// zombie: none of them holds anything.
			return nil
		}
		links[i] = l
	}
	c.exact = c.t == nil || links[1] != "/" || st.unmounted[ns] || st.hidden[ns]
	var holds []Hold
	for i, k := range linkNames {
		if h, ok := c.link(k, links[i], 0); ok {
			holds = append(holds, h)
		}
	}
	if io.threadCount(dirfd) > 1 {
		holds = c.threadHolds(dirfd, pid, links, holds)
	}
	if fdDir, fds, err := io.fdList(dirfd); err == nil {
		for _, fd := range fds {
			target, err := io.readlinkAt(fdDir, strconv.Itoa(fd))
			if err != nil {
				continue
			}
			if h, ok := c.link(HoldFD, target, fd); ok {
				holds = append(holds, h)
			}
		}
		closeFD(fdDir)
	}
	for _, m := range c.maps(dirfd) {
		holds = append(holds, Hold{Kind: HoldMap, Path: m.path, Dev: m.dev})
	}
	holds = append(holds, st.mountNSHolds(ns)...)
	if len(holds) == 0 {
		return nil
	}
	return c.describe(dirfd, pid, ns, holds)
}

// threadHolds adds the cwd and root of threads that have their own
// (after unshare(CLONE_FS)) when they hold what the process's do not.
func (c procCtx) threadHolds(dirfd, pid int, links [3]string, holds []Hold) []Hold {
	taskDir, tids, err := c.io.numbers(dirfd, "task")
	if err != nil {
		return holds
	}
	defer closeFD(taskDir)
	for _, tid := range tids {
		if tid == pid {
			continue
		}
		t := c
		t.dir = c.dir + "/task/" + strconv.Itoa(tid)
		for i, k := range linkNames[:2] { // cwd and root; exe is the process's
			if slices.ContainsFunc(holds, func(h Hold) bool { return h.Kind == k }) {
				continue
			}
			l, err := c.io.readlinkAt(taskDir, strconv.Itoa(tid)+"/"+k)
			if err != nil || l == links[i] {
				continue
			}
			if h, ok := t.link(k, l, 0); ok {
				holds = append(holds, h)
			}
		}
	}
	return holds
}

// maps returns the process's file mappings on the devices: through
// PROCMAP_QUERY where the kernel has it, else from the text of maps.
func (c procCtx) maps(dirfd int) []mapEntry {
	keep := func(d Dev, start, end uint64) (Dev, bool) {
		if c.st.devs[d] {
			return d, true
		}
		if d != c.st.nodeFS || d == (Dev{}) {
			return d, false
		}
		// A mapping of a device node: of one of the devices?
		var st unix.Stat_t
		name := "map_files/" + strconv.FormatUint(start, 16) + "-" + strconv.FormatUint(end, 16)
		if unix.Fstatat(dirfd, name, &st, 0) != nil || st.Mode&unix.S_IFMT != unix.S_IFBLK {
			return d, false
		}
		rdev := Dev{unix.Major(st.Rdev), unix.Minor(st.Rdev)}
		return rdev, c.st.devs[rdev]
	}
	if !c.st.noQuery.Load() {
		es, err := c.io.queryMaps(dirfd, keep)
		if !errors.Is(err, errNoProcmapQuery) {
			return es // on another error the process is gone
		}
		c.st.noQuery.Store(true)
	}
	b, err := c.io.readFileAt(dirfd, "maps")
	if err != nil {
		return nil
	}
	return parseMaps(b, keep)
}

// link decides whether the /proc link of the process (its cwd, root or exe,
// or file descriptor fd), which points at target, lies on one of the
// devices.
func (c procCtx) link(kind, target string, fd int) (Hold, bool) {
	p := cleanLink(target)
	if p == "" {
		return Hold{}, false
	}
	// The path of a deleted file says where it was, not which filesystem
	// it is on; a memfd reads "/memfd:NAME (deleted)". Stat it.
	exact := c.exact || len(p) != len(target)
	m, found := mountEntry{}, false
	if c.t != nil {
		m, found = c.t.lookup(p)
	}
	if found && slowFS(m.fstype) {
		return Hold{}, false // never stat on a network or FUSE mount
	}
	if !exact && found && c.st.devs[m.dev] {
		return Hold{Kind: kind, Path: p, FD: fd, Dev: m.dev}, true
	}
	dev := underDev(p, m)
	if !exact && !dev {
		return Hold{}, false
	}
	name := kind
	if kind == HoldFD {
		name = "fd/" + strconv.Itoa(fd)
	}
	full := c.dir + "/" + name
	var id FileID
	var err error
	if dev {
		id, err = c.st.devStat(c.s, c.ns, full, p)
	} else {
		id, err = c.s.stat(full)
	}
	if err != nil {
		if os.IsTimeout(err) {
			c.st.warn("stat %s (%s): %v", full, p, err)
		}
		return Hold{}, false
	}
	if id.Block && c.st.devs[id.RDev] {
		return Hold{Kind: kind, Path: p, FD: fd, Dev: id.RDev}, true
	}
	if !id.Block && c.st.devs[id.Dev] {
		return Hold{Kind: kind, Path: p, FD: fd, Dev: id.Dev}, true
	}
	return Hold{}, false
}

// underDev reports whether p may be a device node: below /dev or on a
// devtmpfs. Only those are stat'ed when paths can be trusted.
func underDev(p string, m mountEntry) bool {
	return m.fstype == "devtmpfs" || len(p) > 5 && p[:5] == "/dev/"
}

// describe reads who the process is, from its /proc directory dirfd.
func (c procCtx) describe(dirfd, pid int, ns uint64, holds []Hold) *Process {
	p := &Process{PID: pid, MountNS: ns, Holds: holds}
	if b, err := c.io.readRecordAt(dirfd, "status"); err == nil {
		p.UID, _ = parseUID(b)
	}
	var comm string
	if b, err := c.io.readRecordAt(dirfd, "comm"); err == nil {
		comm = string(b)
	}
	cmdline, _ := c.io.readRecordAt(dirfd, "cmdline")
	p.Command = parseCmdline(cmdline, comm)

	if b, err := c.io.readRecordAt(dirfd, "cgroup"); err == nil {
		p.Unit = parseUnit(b)
	}
	if b, err := c.io.readRecordAt(dirfd, "stat"); err == nil {
		p.StartTime, _ = parseStartTime(b)
	}
	return p
}
