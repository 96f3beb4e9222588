package server

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// dropPrivileges makes the whole process the user uid with group gid and
// the supplementary groups: Go's syscall.Setgroups, Setgid and Setuid
// change every thread of the process (through libc when cgo is in), and
// setuid as root sets the real, effective, saved and file-system ids, so
// there is no way back. It then checks every thread in /proc and returns an
// error if any of them still has other ids or any capability; the caller
// must not serve then.
func dropPrivileges(uid, gid uint32, groups []uint32) error {
	gs := make([]int, len(groups))
	for i, g := range groups {
		gs[i] = int(g)
	}
	if err := syscall.Setgroups(gs); err != nil {
		return fmt.Errorf("drop privileges: setgroups: %w", err)
	}
	if err := syscall.Setgid(int(gid)); err != nil {
		return fmt.Errorf("drop privileges: setgid %d: %w", gid, err)
	}
	if err := syscall.Setuid(int(uid)); err != nil {
		return fmt.Errorf("drop privileges: setuid %d: %w", uid, err)
	}
	// The kernel makes a process that changed its ids undumpable already
	// (unless fs.suid_dumpable says otherwise): the user must not be able
	// to ptrace it and read the host keys it holds.
	if err := unix.Prctl(unix.PR_SET_DUMPABLE, 0, 0, 0, 0); err != nil {
		return fmt.Errorf("drop privileges: not dumpable: %w", err)
	}
	return checkThreads("/proc/self/task", uid, gid, groups)
}

// checkThreads reads the status of every thread under dir (a
// /proc/PID/task directory) and returns an error unless each has uid for
// its real, effective, saved and file-system uid, likewise gid, exactly
// the groups, and no permitted or effective capability.
func checkThreads(dir string, uid, gid uint32, groups []uint32) error {
	tasks, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("check threads: %w", err)
	}
	if len(tasks) == 0 {
		return fmt.Errorf("check threads: no thread in %s", dir)
	}
	want := slices.Clone(groups)
	slices.Sort(want)
	want = slices.Compact(want)
	for _, t := range tasks {
		st, err := readStatus(filepath.Join(dir, t.Name(), "status"))
		if os.IsNotExist(err) {
			continue // the thread ended meanwhile
		}
		if err != nil {
			return fmt.Errorf("check thread %s: %w", t.Name(), err)
		}
		if err := st.is(uid, gid, want); err != nil {
			return fmt.Errorf("check thread %s: %w", t.Name(), err)
		}
	}
	return nil
}

// taskStatus is what checkThreads reads of /proc/PID/task/TID/status.
type taskStatus struct {
	uids, gids, groups []uint32
	capPrm, capEff     string
}

// is reports how st differs from the wanted ids (want sorted, no repeats).
func (st taskStatus) is(uid, gid uint32, want []uint32) error {
	if len(st.uids) != 4 || len(st.gids) != 4 {
		return fmt.Errorf("status lacks uids or gids: %v %v", st.uids, st.gids)
	}
	for _, u := range st.uids {
		if u != uid {
			return fmt.Errorf("uids %v, want %d", st.uids, uid)
		}
	}
	for _, g := range st.gids {
		if g != gid {
			return fmt.Errorf("gids %v, want %d", st.gids, gid)
		}
	}
	got := slices.Clone(st.groups)
	slices.Sort(got)
	if !slices.Equal(slices.Compact(got), want) {
		return fmt.Errorf("groups %v, want %v", st.groups, want)
	}
	if strings.Trim(st.capPrm, "0") != "" || strings.Trim(st.capEff, "0") != "" {
		return fmt.Errorf("capabilities left: permitted %s, effective %s", st.capPrm, st.capEff)
	}
	return nil
}

// readStatus parses the fields of a task's status file that checkThreads
// needs.
func readStatus(p string) (taskStatus, error) {
	var st taskStatus
	f, err := os.Open(p)
	if err != nil {
		return st, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	ids := func(s string) ([]uint32, error) {
		var out []uint32
		for _, w := range strings.Fields(s) {
			n, err := strconv.ParseUint(w, 10, 32)
			if err != nil {
				return nil, fmt.Errorf("parse %s: %w", p, err)
			}
			out = append(out, uint32(n))
		}
		return out, nil
	}
	capPrm, capEff := false, false
	for sc.Scan() {
		k, v, _ := strings.Cut(sc.Text(), ":")
		switch k {
		case "Uid":
			st.uids, err = ids(v)
		case "Gid":
			st.gids, err = ids(v)
		case "Groups":
			st.groups, err = ids(v)
		case "CapPrm":
			st.capPrm, capPrm = strings.TrimSpace(v), true
		case "CapEff":
			st.capEff, capEff = strings.TrimSpace(v), true
		}
		if err != nil {
			return st, err
		}
	}
	if err := sc.Err(); err != nil {
		return st, fmt.Errorf("read %s: %w", p, err)
	}
	if !capPrm || !capEff {
		return st, fmt.Errorf("read %s: no capability lines", p)
	}
	return st, nil
}
