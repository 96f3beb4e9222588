package holders

import (
	"path"
	"strings"
)

// table is the mount table of one mount namespace, indexed for finding
// the mount a path lies on.
type table struct {
	ns      uint64
	entries []mountEntry
	visible map[string]int // mount point -> index of the topmost mount there
	byID    map[int]int    // mount id -> index, built on first use
}

func newTable(ns uint64, entries []mountEntry) *table {
	t := &table{ns: ns, entries: entries, visible: make(map[string]int, len(entries))}
	for i, e := range entries {
		t.visible[e.mountPoint] = i // later mounts cover earlier ones
	}
	return t
}

// lookup returns the mount the absolute path p lies on, going by its text.
func (t *table) lookup(p string) (mountEntry, bool) {
	for {
		if i, ok := t.visible[p]; ok {
			return t.entries[i], true
		}
		if p == "/" || p == "." || p == "" {
			return mountEntry{}, false
		}
		p = path.Dir(p)
	}
}

// mountedOn follows e's parent mounts up and returns the device of the
// nearest one on devs: a mount there (of another device) must be unmounted
// before that one can be.
func (t *table) mountedOn(e mountEntry, devs map[Dev]bool) (Dev, bool) {
	if t.byID == nil {
		t.byID = make(map[int]int, len(t.entries))
		for i, x := range t.entries {
			t.byID[x.id] = i
		}
	}
	for id, n := e.parent, 0; n < len(t.entries); n++ {
		i, ok := t.byID[id]
		if !ok || t.entries[i].id == t.entries[i].parent {
			return Dev{}, false
		}
		if devs[t.entries[i].dev] {
			return t.entries[i].dev, true
		}
		id = t.entries[i].parent
	}
	return Dev{}, false
}

// hidden reports whether a mount of one of devs is covered by a later
// mount on the same or an ancestor mount point: then a path's text no
// longer tells which filesystem an open file is on.
func (t *table) hidden(devs map[Dev]bool) bool {
	for i, e := range t.entries {
		if !devs[e.dev] {
			continue
		}
		for p := e.mountPoint; ; p = path.Dir(p) {
			if j, ok := t.visible[p]; ok && j > i {
				return true
			}
			if p == "/" || p == "." {
				break
			}
		}
	}
	return false
}

// slowFS reports whether a filesystem type may block a stat on a server
// or a user-space daemon; such files are never stat'ed.
func slowFS(fstype string) bool {
	switch fstype {
	case "nfs", "nfs4", "cifs", "smb3", "smbfs", "9p", "ceph", "glusterfs", "afs", "ncpfs", "lustre", "gfs2", "ocfs2", "davfs", "sshfs":
		return true
	}
	return fstype == "fuse" || strings.HasPrefix(fstype, "fuse.") || strings.HasPrefix(fstype, "fuseblk")
}

// cleanLink turns the target of a /proc/PID/fd link into a path, or ""
// for things that are not files in a directory tree (sockets, pipes,
// anonymous inodes).
func cleanLink(target string) string {
	if !strings.HasPrefix(target, "/") {
		return ""
	}
	return strings.TrimSuffix(target, " (deleted)")
}
