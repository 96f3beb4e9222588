package holders

import (
	"context"
	"os"
	"os/user"
	"slices"
	"strconv"
	"sync"
)

// processes scans every process for holds on st.devs, several at a time.
func (s *Scanner) processes(ctx context.Context, st *scanState) ([]Process, error) {
	pids := make([]int, 0, len(st.pidNS))
	for pid := range st.pidNS {
		pids = append(pids, pid)
	}
	slices.Sort(pids)
	results := make([]*Process, len(pids))
	next := make(chan int)
	var wg sync.WaitGroup
	for range min(numWorkers(s.Workers), len(pids)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				results[i] = s.process(st, pids[i])
			}
		}()
	}
	var err error
	for i := range pids {
		if err = ctx.Err(); err != nil {
			break
		}
		next <- i
	}
	close(next)
	wg.Wait()
	if err != nil {
		return nil, err
	}
	out := []Process{}
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
	return out, nil
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
	dir   string
	t     *table
	exact bool // stat every file: the text of a path cannot be trusted
}

// process returns the holds of one process, or nil if it holds nothing
// (or is gone).
func (s *Scanner) process(st *scanState, pid int) *Process {
	ns := st.pidNS[pid]
	c := procCtx{s: s, st: st, dir: s.proc(strconv.Itoa(pid)), t: st.tables[ns]}
	root, err := os.Readlink(c.dir + "/root")
	if err != nil {
		return nil // gone, or not ours to read
	}
	if _, err := os.Readlink(c.dir + "/exe"); err != nil {
		return nil // a kernel thread (no executable) or a zombie
	}
	c.exact = c.t == nil || root != "/" || !st.anyMnt || c.t.hidden(st.devs)
	var holds []Hold
	for _, k := range []string{HoldCwd, HoldRoot, HoldExe} {
		if h, ok := c.link(k, k, 0); ok {
			holds = append(holds, h)
		}
	}
	fdDir := c.dir + "/fd"
	if f, err := os.Open(fdDir); err == nil {
		names, _ := f.Readdirnames(-1)
		f.Close()
		fds := make([]int, 0, len(names))
		for _, n := range names {
			if fd, err := strconv.Atoi(n); err == nil {
				fds = append(fds, fd)
			}
		}
		slices.Sort(fds)
		for _, fd := range fds {
			if h, ok := c.link(HoldFD, "fd/"+strconv.Itoa(fd), fd); ok {
				holds = append(holds, h)
			}
		}
	}
	if b, err := os.ReadFile(c.dir + "/maps"); err == nil {
		for _, m := range parseMaps(b) {
			if st.devs[m.dev] {
				holds = append(holds, Hold{Kind: HoldMap, Path: m.path, Dev: m.dev})
			}
		}
	}
	if ns != st.selfNS && c.t != nil {
		for _, e := range c.t.entries {
			if st.devs[e.dev] {
				holds = append(holds, Hold{Kind: HoldMountNS, Path: e.mountPoint, Dev: e.dev})
			}
		}
	}
	if len(holds) == 0 {
		return nil
	}
	return c.describe(pid, ns, holds)
}

// link decides whether the /proc link name of the process lies on one of
// the devices.
func (c procCtx) link(kind, name string, fd int) (Hold, bool) {
	full := c.dir + "/" + name
	target, err := os.Readlink(full)
	if err != nil {
		return Hold{}, false
	}
	p := cleanLink(target)
	if p == "" {
		return Hold{}, false
	}
	m, found := mountEntry{}, false
	if c.t != nil {
		m, found = c.t.lookup(p)
	}
	if found && slowFS(m.fstype) {
		return Hold{}, false // never stat on a network or FUSE mount
	}
	if !c.exact && found && c.st.devs[m.dev] {
		return Hold{Kind: kind, Path: p, FD: fd, Dev: m.dev}, true
	}
	if !c.exact && !underDev(p, m) {
		return Hold{}, false
	}
	id, err := c.s.stat(full)
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

// describe reads who the process is.
func (c procCtx) describe(pid int, ns uint64, holds []Hold) *Process {
	p := &Process{PID: pid, MountNS: ns, Holds: holds}
	if b, err := os.ReadFile(c.dir + "/status"); err == nil {
		p.UID, _ = parseUID(b)
	}
	comm, _ := os.ReadFile(c.dir + "/comm")
	cmdline, _ := os.ReadFile(c.dir + "/cmdline")
	p.Command = parseCmdline(cmdline, string(comm))
	if b, err := os.ReadFile(c.dir + "/cgroup"); err == nil {
		p.Unit = parseUnit(b)
	}
	if b, err := os.ReadFile(c.dir + "/stat"); err == nil {
		p.StartTime, _ = parseStartTime(b)
	}
	return p
}
