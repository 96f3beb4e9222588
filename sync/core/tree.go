package core

import (
	"fmt"
	"io/fs"
	"iter"
	"slices"
	"strings"
)

// record is how a Tree stores one entry: 72 bytes on 64-bit platforms
// (16 for the key's string header, 8 size, 8 mtime, 32 hash, 2 mode, 1
// kind, padding) plus the key's bytes. A symbolic link's target rides in
// the key after a NUL byte, which no path contains, so that files (nearly
// every entry) pay nothing for a field only links use.
type record struct {
	key   string
	size  int64
	mtime int64
	hash  Digest
	mode  uint16
	kind  Kind
}

func (r *record) path() string {
	if r.kind == Symlink {
		if i := strings.IndexByte(r.key, 0); i >= 0 {
			return r.key[:i]
		}
	}
	return r.key
}

func (r *record) entry() Entry {
	e := Entry{Kind: r.kind, Mode: fs.FileMode(r.mode), Size: r.size, MTime: r.mtime, Hash: r.hash}
	if r.kind == Symlink {
		if i := strings.IndexByte(r.key, 0); i >= 0 {
			e.Target = r.key[i+1:]
		}
	}
	return e
}

// same reports whether r and u hold one path with the Same data: Same
// on the records as they are, since Equal compares whole trees with it on
// every run (a link's target is part of its key; modes are stored as
// permission bits only).
func (r *record) same(u *record) bool {
	if r.kind != u.kind || r.key != u.key {
		return false
	}
	switch r.kind {
	case File:
		return r.size == u.size && r.hash == u.hash && r.mode == u.mode
	case Dir:
		return r.mode == u.mode
	}
	return true
}

func newRecord(p string, e Entry) record {
	key := p
	if e.Kind == Symlink {
		key = p + "\x00" + e.Target
	}
	return record{key: key, size: e.Size, mtime: e.MTime, hash: e.Hash,
		mode: uint16(e.Mode & PermMask), kind: e.Kind}
}

// Tree is one side's snapshot (or the ancestor): its entries sorted by
// ComparePaths, every path valid and unique, every entry's parent a
// directory in the tree. A Tree is immutable and safe to share between
// goroutines; the zero Tree is empty. It costs 72 bytes per entry plus
// the path's bytes (a link's target too): see record.
type Tree struct {
	recs []record
}

// Builder collects entries for a Tree. Entries may come in any order;
// adding them in ComparePaths order (as a depth-first walk that sorts
// each directory's names with "/" lowest does) saves the sort.
//
// Without a Grow that covers them all, the entries are kept in chunks
// that are never copied until Build joins them: growing one slice by
// append would leave behind arrays four times the tree's size in total
// (append grows big slices by a quarter), 58 MB of garbage for a scan
// of 200,000 entries.
type Builder struct {
	recs     []record
	full     [][]record // chunks filled before recs, in order
	n        int        // entries in full
	last     string     // the path added last
	unsorted bool
}

// minChunk is the smallest chunk a Builder allocates when it runs out
// of room: 4,096 records, 288 KiB.
const minChunk = 4096

// Grow makes room for n more entries, for a caller that knows how many
// are coming (saving append's copies and slack).
func (b *Builder) Grow(n int) { b.recs = slices.Grow(b.recs, n) }

// Add adds the entry e at path p. Only permission bits of e.Mode are kept.
func (b *Builder) Add(p string, e Entry) error {
	if err := ValidPath(p); err != nil {
		return err
	}
	if e.Kind < Symlink || e.Kind > Dir {
		return fmt.Errorf("add %q: bad kind %v", p, e.Kind)
	}
	if e.Kind == Symlink && (e.Target == "" || strings.IndexByte(e.Target, 0) >= 0) {
		return fmt.Errorf("add %q: bad symlink target %q", p, e.Target)
	}
	r := newRecord(p, e)
	if b.n+len(b.recs) > 0 && ComparePaths(b.last, p) >= 0 {
		b.unsorted = true
	}
	if len(b.recs) == cap(b.recs) && len(b.recs) >= minChunk {
		// Out of room: a new chunk of a quarter of what came so far,
		// rather than a copy of everything.
		b.full = append(b.full, b.recs)
		b.n += len(b.recs)
		b.recs = make([]record, 0, max(minChunk, b.n/4))
	}
	b.recs = append(b.recs, r)
	b.last = r.path()
	return nil
}

// Build returns the tree and resets the builder. It fails on a duplicate
// path or an entry whose parent is missing or not a directory.
func (b *Builder) Build() (Tree, error) {
	recs := b.take()
	if len(recs) == 0 {
		return Tree{}, nil
	}
	if cap(recs)-len(recs) > len(recs)/16 {
		// Grow's hint left room unused: copy, so that a long-lived tree
		// holds only what it uses.
		recs = append(make([]record, 0, len(recs)), recs...)
	}
	if err := checkShape(recs); err != nil {
		return Tree{}, fmt.Errorf("build tree: %w", err)
	}
	return Tree{recs: recs}, nil
}

// take returns the records added, sorted, and resets the builder.
func (b *Builder) take() []record {
	recs := b.recs
	if len(b.full) > 0 {
		recs = make([]record, 0, b.n+len(b.recs))
		for _, c := range b.full {
			recs = append(recs, c...)
		}
		recs = append(recs, b.recs...)
	}
	if b.unsorted {
		slices.SortFunc(recs, func(x, y record) int { return ComparePaths(x.path(), y.path()) })
	}
	*b = Builder{}
	return recs
}

// checkShape checks records sorted by path for a duplicate path and for
// an entry whose parent is missing or not a directory, in one pass with
// a stack of the directories enclosing the current path.
func checkShape(recs []record) error {
	var dirs []string
	for i := range recs {
		p := recs[i].path()
		if i > 0 && recs[i-1].path() == p {
			return fmt.Errorf("duplicate path %q", p)
		}
		parent := Parent(p)
		for len(dirs) > 0 && dirs[len(dirs)-1] != parent {
			dirs = dirs[:len(dirs)-1]
		}
		if parent != "" && len(dirs) == 0 {
			return fmt.Errorf("%q has no directory %q", p, parent)
		}
		if recs[i].kind == Dir {
			dirs = append(dirs, p)
		}
	}
	return nil
}

// Len returns the number of entries.
func (t Tree) Len() int { return len(t.recs) }

// At returns the i-th entry in path order.
func (t Tree) At(i int) (string, Entry) { return t.recs[i].path(), t.recs[i].entry() }

// All iterates over the entries in path order.
func (t Tree) All() iter.Seq2[string, Entry] {
	return func(yield func(string, Entry) bool) {
		for i := range t.recs {
			if !yield(t.recs[i].path(), t.recs[i].entry()) {
				return
			}
		}
	}
}

// index finds p: its position, or where it would go, and whether it is there.
func (t Tree) index(p string) (int, bool) {
	return slices.BinarySearchFunc(t.recs, p, func(r record, p string) int {
		return ComparePaths(r.path(), p)
	})
}

// Lookup returns the entry at p, or an absent Entry.
func (t Tree) Lookup(p string) Entry {
	if i, ok := t.index(p); ok {
		return t.recs[i].entry()
	}
	return Entry{}
}

// Files returns the number of entries that are not directories: what a
// delete percentage is a percentage of.
func (t Tree) Files() int {
	n := 0
	for i := range t.recs {
		if t.recs[i].kind != Dir {
			n++
		}
	}
	return n
}

// Equal reports whether t and u have the same paths with the Same data.
func (t Tree) Equal(u Tree) bool {
	if len(t.recs) != len(u.recs) {
		return false
	}
	for i := range t.recs {
		if !t.recs[i].same(&u.recs[i]) {
			return false
		}
	}
	return true
}

// Identical reports whether t and u hold the same entries exactly, mtimes
// and all (Equal ignores what Same ignores).
func (t Tree) Identical(u Tree) bool {
	if len(t.recs) != len(u.recs) {
		return false
	}
	for i := range t.recs {
		if t.recs[i] != u.recs[i] {
			return false
		}
	}
	return true
}

// ShareStrings makes t's records use u's key strings where the keys are
// equal, so that a path held by the ancestor and both snapshots is stored
// once. It changes no entry. Call it before letting go of the strings it
// replaces (for example right after building a snapshot).
func (t Tree) ShareStrings(u Tree) {
	i, j := 0, 0
	for i < len(t.recs) && j < len(u.recs) {
		if t.recs[i].key == u.recs[j].key {
			// The common case, where ComparePaths is the slower way to
			// find the same.
			t.recs[i].key = u.recs[j].key
			i++
			j++
			continue
		}
		switch c := ComparePaths(t.recs[i].path(), u.recs[j].path()); {
		case c < 0:
			i++
		case c > 0:
			j++
		default:
			if t.recs[i].key == u.recs[j].key {
				t.recs[i].key = u.recs[j].key
			}
			i++
			j++
		}
	}
}

// Filter returns the tree without the entries drop reports, and without
// everything below a dropped directory.
func (t Tree) Filter(drop func(p string, e Entry) bool) Tree {
	var out []record
	changed := false
	cut := "" // a dropped directory whose descendants go too
	for i := range t.recs {
		p := t.recs[i].path()
		if cut != "" && Within(p, cut) {
			continue
		}
		cut = ""
		if drop(p, t.recs[i].entry()) {
			if !changed {
				out, changed = append(make([]record, 0, len(t.recs)-1), t.recs[:i]...), true
			}
			if t.recs[i].kind == Dir {
				cut = p
			}
			continue
		}
		if changed {
			out = append(out, t.recs[i])
		}
	}
	if !changed {
		return t
	}
	return Tree{recs: slices.Clip(out)}
}
