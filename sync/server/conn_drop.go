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
// there is no way back. First it sets no_new_privs and empties the
// capability bounding and ambient sets (confine; on the calling thread
// only in a cgo build). It then checks every thread in /proc and returns an
// error if any of them still has other ids, any capability, no
// no_new_privs, or (where confine could reach every thread) a bounding
// set; the caller must not serve then.
func dropPrivileges(uid, gid uint32, groups []uint32) error {
	allThreads, err := confine()
	if err != nil {
		return fmt.Errorf("drop privileges: %w", err)
	}
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
	return checkThreads("/proc/self/task", uid, gid, groups, allThreads)
}

// checkThreads reads the status of every thread under dir (a
// /proc/PID/task directory) and returns an error unless each has uid for
// its real, effective, saved and file-system uid, likewise gid, exactly
// the groups, no permitted, effective or ambient capability, no_new_privs
// set and, when noBounding, an empty capability bounding set.
func checkThreads(dir string, uid, gid uint32, groups []uint32, noBounding bool) error {
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
		if err := st.is(uid, gid, want, noBounding); err != nil {
			return fmt.Errorf("check thread %s: %w", t.Name(), err)
		}
	}
	return nil
}

// taskStatus is what checkThreads reads of /proc/PID/task/TID/status.
type taskStatus struct {
	uids, gids, groups     []uint32
	capPrm, capEff, capAmb string
	capBnd                 string
	noNewPrivs             string
}

// is reports how st differs from the wanted ids (want sorted, no repeats)
// and the wanted confinement (noBounding: an empty bounding set too).
func (st taskStatus) is(uid, gid uint32, want []uint32, noBounding bool) error {
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
	if strings.Trim(st.capPrm, "0") != "" || strings.Trim(st.capEff, "0") != "" || strings.Trim(st.capAmb, "0") != "" {
		return fmt.Errorf("capabilities left: permitted %s, effective %s, ambient %s", st.capPrm, st.capEff, st.capAmb)
	}
	if st.noNewPrivs != "1" {
		return fmt.Errorf("no_new_privs is %q, want 1", st.noNewPrivs)
	}
	if noBounding && strings.Trim(st.capBnd, "0") != "" {
		return fmt.Errorf("capability bounding set %s, want empty", st.capBnd)
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
	seen := map[string]bool{}
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
			st.capPrm = strings.TrimSpace(v)
		case "CapEff":
			st.capEff = strings.TrimSpace(v)
		case "CapBnd":
			st.capBnd = strings.TrimSpace(v)
		case "CapAmb":
			st.capAmb = strings.TrimSpace(v)
		case "NoNewPrivs":
			st.noNewPrivs = strings.TrimSpace(v)
		}
		seen[k] = true
		if err != nil {
			return st, err
		}
	}
	if err := sc.Err(); err != nil {
		return st, fmt.Errorf("read %s: %w", p, err)
	}
	for _, k := range []string{"CapPrm", "CapEff", "CapBnd", "CapAmb", "NoNewPrivs"} {
		if !seen[k] {
			return st, fmt.Errorf("read %s: no %s line", p, k)
		}
	}
	return st, nil
}
