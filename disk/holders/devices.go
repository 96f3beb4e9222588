package holders

import (
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
)

// resolve turns a target into a device number: MAJOR:MINOR, a mount point
// (in the scanner's own namespace), a device-mapper name, a kernel name or
// a device path.
func (s *Scanner) resolve(target string, self *table) (Dev, error) {
	if d, err := ParseDev(target); err == nil {
		return d, nil
	}
	if target == "" {
		return Dev{}, errors.New("resolve target: empty")
	}
	if !strings.Contains(target, "/") {
		if d, ok := s.byName(target); ok {
			return d, nil
		}
		target = filepath.Join(s.DevDir, "mapper", target)
	}
	if self != nil {
		clean := path.Clean(target)
		if i, ok := self.visible[clean]; ok {
			return self.entries[i].dev, nil
		}
	}
	// A node below DevDir may be known to sysfs by its kernel name.
	if rel, err := filepath.Rel(s.DevDir, target); err == nil && !strings.HasPrefix(rel, "..") {
		if d, ok := s.byName(strings.TrimPrefix(rel, "mapper/")); ok {
			return d, nil
		}
	}
	id, err := s.stat(target)
	if err != nil {
		return Dev{}, fmt.Errorf("resolve target %s: %w", target, err)
	}
	if id.Block {
		return id.RDev, nil
	}
	return id.Dev, nil
}

// byName finds a block device by kernel name ("dm-0", "loop1") or
// device-mapper name.
func (s *Scanner) byName(name string) (Dev, bool) {
	if d, err := ParseDev(s.readTrim(filepath.Join(s.SysDir, "class", "block", name, "dev"))); err == nil && !strings.Contains(name, "/") {
		return d, true
	}
	ents, _ := os.ReadDir(filepath.Join(s.SysDir, "class", "block"))
	for _, e := range ents {
		if !strings.HasPrefix(e.Name(), "dm-") {
			continue
		}
		if s.readTrim(filepath.Join(s.SysDir, "class", "block", e.Name(), "dm", "name")) == name {
			d, err := ParseDev(s.readTrim(filepath.Join(s.SysDir, "class", "block", e.Name(), "dev")))
			return d, err == nil
		}
	}
	return Dev{}, false
}

// kname returns the kernel name of a device ("" when sysfs does not know it).
func (s *Scanner) kname(d Dev) string {
	l, err := os.Readlink(filepath.Join(s.SysDir, "dev", "block", d.String()))
	if err != nil {
		return ""
	}
	return filepath.Base(l)
}

func (s *Scanner) blockDir(name string) string {
	return filepath.Join(s.SysDir, "class", "block", name)
}

// devices fills st.devs with the target and everything stacked on it:
// partitions, sysfs holders (recursively) and loop devices whose backing
// file lies on one of them; r.Stacked and r.Loops list them.
func (s *Scanner) devices(st *scanState, r *Report) error {
	st.devs[r.Dev] = true
	type item struct {
		dev   Dev
		name  string
		depth int
	}
	queue := []item{{r.Dev, r.Name, 0}}
	seenLoop := map[string]bool{}
	for len(queue) > 0 {
		for len(queue) > 0 {
			it := queue[0]
			queue = queue[1:]
			if it.name == "" {
				continue
			}
			dir := s.blockDir(it.name)
			var names []string
			ents, _ := os.ReadDir(dir)
			for _, e := range ents {
				// A partition is a subdirectory named after its disk
				// (sda1, nvme0n1p1) with a partition attribute.
				if !e.IsDir() || !strings.HasPrefix(e.Name(), it.name) {
					continue
				}
				if _, err := os.Stat(filepath.Join(dir, e.Name(), "partition")); err == nil {
					names = append(names, e.Name())
				}
			}
			hs, _ := os.ReadDir(filepath.Join(dir, "holders"))
			st.blockNames[it.dev], st.claimed[it.dev] = it.name, len(hs) > 0
			for _, h := range hs {
				names = append(names, h.Name())
			}
			for _, n := range names {
				d, err := ParseDev(s.readTrim(filepath.Join(s.blockDir(n), "dev")))
				if err != nil || st.devs[d] {
					continue
				}
				st.devs[d] = true
				r.Stacked = append(r.Stacked, Stacked{Name: n, DMName: s.readTrim(filepath.Join(s.blockDir(n), "dm", "name")),
					Kind: s.stackedKind(n), Dev: d, On: it.dev, Depth: it.depth + 1})
				queue = append(queue, item{d, n, it.depth + 1})
			}
		}
		// Loop devices backed by a file on any device found so far; they
		// may carry their own holders, so go round again.
		for _, l := range s.loops(st) {
			if seenLoop[l.Name] || !st.devs[l.On] {
				continue
			}
			seenLoop[l.Name] = true
			r.Loops = append(r.Loops, l)
			if !st.devs[l.Dev] {
				st.devs[l.Dev] = true
				queue = append(queue, item{l.Dev, l.Name, 1})
			}
		}
	}
	slices.SortStableFunc(r.Stacked, func(a, b Stacked) int { return a.Depth - b.Depth })
	return nil
}

func (s *Scanner) stackedKind(name string) string {
	switch {
	case exists(filepath.Join(s.blockDir(name), "partition")):
		return "partition"
	case exists(filepath.Join(s.blockDir(name), "dm")):
		return StackedDM
	case exists(filepath.Join(s.blockDir(name), "md")):
		return StackedMD
	}
	return StackedOther
}

func exists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// loops lists the attached loop devices with the device their backing file
// lies on: from LOOP_GET_STATUS64 when the node answers, else from the
// backing file's path in the scanner's own mount table.
func (s *Scanner) loops(st *scanState) []Loop {
	ents, _ := os.ReadDir(filepath.Join(s.SysDir, "class", "block"))
	var out []Loop
	for _, e := range ents {
		if !strings.HasPrefix(e.Name(), "loop") {
			continue
		}
		backing := s.readTrim(filepath.Join(s.blockDir(e.Name()), "loop", "backing_file"))
		if backing == "" {
			continue
		}
		d, err := ParseDev(s.readTrim(filepath.Join(s.blockDir(e.Name()), "dev")))
		if err != nil {
			continue
		}
		l := Loop{Name: e.Name(), Dev: d, BackingFile: backing}
		loopInfo := s.Loop
		if loopInfo == nil {
			loopInfo = loopBacking
		}
		if on, ok := loopInfo(filepath.Join(s.DevDir, e.Name())); ok {
			l.On = on
		} else if t := st.tables[st.selfNS]; t != nil {
			if m, ok := t.lookup(cleanLink(backing)); ok {
				l.On = m.dev
			}
		}
		out = append(out, l)
	}
	return out
}

// mounts lists the mounts of st.devs in every namespace, the scanner's own
// namespace first.
func (s *Scanner) mounts(st *scanState) []Mount {
	nss := make([]uint64, 0, len(st.tables))
	for ns := range st.tables {
		nss = append(nss, ns)
	}
	slices.SortFunc(nss, func(a, b uint64) int {
		switch {
		case a == st.selfNS:
			return -1
		case b == st.selfNS:
			return 1
		case a < b:
			return -1
		case a > b:
			return 1
		}
		return 0
	})
	out := []Mount{}
	for _, ns := range nss {
		t := st.tables[ns]
		for _, e := range t.entries {
			under, sub := t.mountedOn(e, st.devs)
			if !st.devs[e.dev] && !sub {
				continue
			}
			pids := []int{}
			if ns != st.selfNS {
				pids = append(pids, st.nsPIDs[ns]...)
			}
			m := Mount{Dev: e.dev, MountPoint: e.mountPoint, FSType: e.fstype, Source: e.source,
				Namespace: ns, Initial: ns == st.selfNS, ID: e.id, PIDs: pids}
			if !st.devs[e.dev] {
				m.Submount, m.Under = true, under
			}
			out = append(out, m)
		}
	}
	return out
}

// swaps lists active swap areas on st.devs: a device node by its number,
// a swap file by the filesystem it lies on.
func (s *Scanner) swaps(st *scanState) []Swap {
	f, err := os.Open(s.proc("swaps"))
	if err != nil {
		return []Swap{}
	}
	defer f.Close()
	paths, err := parseSwaps(f)
	if err != nil {
		st.warn("%v", err)
	}
	out := []Swap{}
	self := st.tables[st.selfNS]
	for _, p := range paths {
		p = cleanLink(p)
		if p == "" {
			continue
		}
		if self != nil {
			if m, ok := self.lookup(p); ok && st.devs[m.dev] {
				out = append(out, Swap{Path: p, Dev: m.dev})
				continue
			} else if ok && slowFS(m.fstype) {
				continue
			}
		}
		if rel, err := filepath.Rel("/dev", p); err == nil && !strings.HasPrefix(rel, "..") {
			if d, ok := s.byName(rel); ok && st.devs[d] {
				out = append(out, Swap{Path: p, Dev: d})
				continue
			}
		}
		if id, err := s.stat(p); err == nil {
			if id.Block && st.devs[id.RDev] {
				out = append(out, Swap{Path: p, Dev: id.RDev})
			} else if !id.Block && st.devs[id.Dev] {
				out = append(out, Swap{Path: p, Dev: id.Dev})
			}
		}
	}
	return out
}

// kernelUsers names holders inside the kernel: nfsd exports of a path on
// one of the devices.
func (s *Scanner) kernelUsers(st *scanState) []string {
	out := []string{}
	b, err := os.ReadFile(s.proc("fs", "nfs", "exports"))
	self := st.tables[st.selfNS]
	if err != nil || self == nil {
		return out
	}
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) == 0 || strings.HasPrefix(f[0], "#") {
			continue
		}
		p := unescape(f[0])
		if m, ok := self.lookup(p); ok && st.devs[m.dev] {
			out = append(out, "nfsd export "+p)
		}
	}
	return out
}
