package core

import (
	"io/fs"
	"sort"
	"strings"
	"testing"
)

// bytestream hands out a fuzz input's bytes, then zeros.
type bytestream struct{ b []byte }

func (s *bytestream) next() byte {
	if len(s.b) == 0 {
		return 0
	}
	c := s.b[0]
	s.b = s.b[1:]
	return c
}

func (s *bytestream) n(k int) int { return int(s.next()) % k }

// mtree is a mutable tree for generating test inputs.
type mtree map[string]Entry

func (m mtree) clone() mtree {
	c := make(mtree, len(m))
	for p, e := range m {
		c[p] = e
	}
	return c
}

// removeAll removes p and everything below it.
func (m mtree) removeAll(p string) {
	for q := range m {
		if q == p || Within(q, p) {
			delete(m, q)
		}
	}
}

// mkparents makes every parent of p a directory, replacing what is not.
func (m mtree) mkparents(p string) {
	elems := strings.Split(p, "/")
	for i := 1; i < len(elems); i++ {
		d := strings.Join(elems[:i], "/")
		if m[d].Kind != Dir {
			m.removeAll(d)
			m[d] = Entry{Kind: Dir, Mode: 0o755}
		}
	}
}

func (m mtree) put(p string, e Entry) {
	m.removeAll(p)
	m.mkparents(p)
	m[p] = e
}

func (m mtree) tree(t testing.TB) Tree {
	t.Helper()
	var b Builder
	for p, e := range m {
		if err := b.Add(p, e); err != nil {
			t.Fatal(err)
		}
	}
	tr, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

func (m mtree) paths() []string {
	ps := make([]string, 0, len(m))
	for p := range m {
		ps = append(ps, p)
	}
	sort.Strings(ps)
	return ps
}

var genNames = []string{"a", "b", "c.txt", "d"}
var genModes = []fs.FileMode{0o644, 0o600, 0o755}

func genPath(s *bytestream) string {
	depth := 1 + s.n(3)
	elems := make([]string, depth)
	for i := range elems {
		elems[i] = genNames[s.n(len(genNames))]
	}
	return strings.Join(elems, "/")
}

// genFile returns a file whose content is one of a few, so that equal
// hashes (moves, same edits on both sides) happen often.
func genFile(s *bytestream, clock *int64) Entry {
	c := byte(1 + s.n(6))
	*clock++
	return Entry{Kind: File, Mode: genModes[s.n(2)], Size: int64(c) * 100, MTime: *clock, Hash: Digest{c}}
}

// mutate applies n random edits to m, as a person or program would.
func (m mtree) mutate(s *bytestream, n int, clock *int64) {
	for ; n > 0; n-- {
		var existing string
		if ps := m.paths(); len(ps) > 0 {
			existing = ps[s.n(len(ps))]
		}
		switch s.n(8) {
		case 0, 1:
			m.put(genPath(s), genFile(s, clock))
		case 2:
			if existing != "" {
				m.removeAll(existing)
			}
		case 3:
			m.put(genPath(s), Entry{Kind: Dir, Mode: 0o755})
		case 4:
			m.put(genPath(s), Entry{Kind: Symlink, Target: genNames[s.n(len(genNames))]})
		case 5:
			if e, ok := m[existing]; ok && e.Kind != Symlink {
				e.Mode = genModes[s.n(len(genModes))]
				m[existing] = e
			}
		case 6: // a move or rename, of a file or a whole directory
			to := genPath(s)
			if existing == "" || to == existing || Within(to, existing) {
				continue
			}
			sub := mtree{}
			for q, e := range m {
				if q == existing || Within(q, existing) {
					sub[to+q[len(existing):]] = e
				}
			}
			m.removeAll(existing)
			m.removeAll(to)
			m.mkparents(to)
			for q, e := range sub {
				m[q] = e
			}
		case 7:
			if e, ok := m[existing]; ok && e.Kind == File {
				*clock++
				e.MTime = *clock
				if s.n(2) == 0 {
					c := byte(1 + s.n(6))
					e.Hash, e.Size = Digest{c}, int64(c)*100
				}
				m[existing] = e
			}
		}
	}
}
