package scan

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"simplecloud/sync/rootfs"
)

// sha is the hasher of the tests: SHA-256 of the content.
type sha struct{}

func (sha) Name() string { return "sha256" }

func (sha) Hash(f *os.File) ([32]byte, error) {
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return [32]byte{}, err
	}
	return [32]byte(h.Sum(nil)), nil
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// tree makes files (content), directories (a name ending in "/") and
// symbolic links ("->target") below dir.
func tree(t *testing.T, dir string, spec map[string]string) {
	t.Helper()
	keys := make([]string, 0, len(spec))
	for k := range spec {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		p := filepath.Join(dir, k)
		must(t, os.MkdirAll(filepath.Dir(p), 0o755))
		switch v := spec[k]; {
		case strings.HasSuffix(k, "/"):
			must(t, os.MkdirAll(p, 0o755))
		case strings.HasPrefix(v, "->"):
			must(t, os.Symlink(v[2:], p))
		default:
			must(t, os.WriteFile(p, []byte(v), 0o644))
		}
	}
}

func newScanner(t *testing.T, dir string, opt Options) *Scanner {
	t.Helper()
	r, err := rootfs.Open(dir)
	must(t, err)
	t.Cleanup(func() { r.Close() })
	if opt.Hasher == nil {
		opt.Hasher = sha{}
	}
	return New(r, opt)
}

// walk collects the entries of a walk of p.
func walk(t *testing.T, s *Scanner, p string) ([]Entry, Summary) {
	t.Helper()
	var got []Entry
	sum, err := s.Walk(p, func(e *Entry) error {
		got = append(got, *e)
		return nil
	})
	must(t, err)
	return got, sum
}

func paths(es []Entry) string {
	var ps []string
	for _, e := range es {
		ps = append(ps, e.Path)
	}
	return strings.Join(ps, " ")
}

func TestWalkKindsAndOrder(t *testing.T) {
	outside := t.TempDir()
	tree(t, outside, map[string]string{"secret": "s"})
	dir := t.TempDir()
	tree(t, dir, map[string]string{
		"a/x": "1", "a/y/z": "22", "a-b": "333", "a.txt": "4", "a0/": "", "b": "->a/x",
		"out": "->" + outside, "up": "->../" + filepath.Base(outside), "e/": "",
		".simplecloud/versions/v": "old", "c/.simplecloud": "kept",
	})
	must(t, unix.Mkfifo(filepath.Join(dir, "fifo"), 0o644))
	l, err := net.Listen("unix", filepath.Join(dir, "sock"))
	must(t, err)
	defer l.Close()
	must(t, unix.Chmod(filepath.Join(dir, "a.txt"), 0o4751))
	s := newScanner(t, dir, Options{})
	got, sum := walk(t, s, "")
	want := "a a-b a.txt a/x a/y a/y/z a0 b c c/.simplecloud e out up"
	if p := paths(got); p != want {
		t.Errorf("walk order: got %q, want %q", p, want)
	}
	if !slices.IsSortedFunc(got, func(a, b Entry) int { return Compare(a.Path, b.Path) }) {
		t.Error("walk is not in byte order")
	}
	byPath := map[string]Entry{}
	for _, e := range got {
		byPath[e.Path] = e
	}
	checks := []struct {
		path string
		kind Kind
		size int64
		hash string
	}{
		{"a", Dir, -1, ""}, {"a/x", File, 1, "1"}, {"a/y/z", File, 2, "22"}, {"b", Symlink, 3, ""},
		{"out", Symlink, int64(len(outside)), ""},
	}
	for _, c := range checks {
		e := byPath[c.path]
		if e.Kind != c.kind || (c.size >= 0 && e.Size != c.size) {
			t.Errorf("%s: got %v of size %d, want %v of size %d", c.path, e.Kind, e.Size, c.kind, c.size)
		}
		if c.kind == File && (!e.HasHash() || e.Hash != sha256.Sum256([]byte(c.hash))) {
			t.Errorf("%s: got hash %x (has %v), want sha256(%q)", c.path, e.Hash, e.HasHash(), c.hash)
		}
	}
	if e := byPath["out"]; e.Target != outside {
		t.Errorf("out: got target %q, want %q", e.Target, outside)
	}
	if e := byPath["a.txt"]; e.Mode != 0o751 || e.Special != 0o4000 {
		t.Errorf("a.txt: got mode %#o special %#o, want 0751 and 04000", e.Mode, e.Special)
	}
	if sum.Files != 5 || sum.Dirs != 5 || sum.Symlinks != 3 || sum.Other != 2 || sum.Excluded != 1 || len(sum.Unscanned) != 0 {
		t.Errorf("summary: got %+v, want 5 files, 5 dirs, 3 links, 2 other, 1 excluded, none unscanned", sum)
	}
}

func TestWalkSubtreeAndStat(t *testing.T) {
	dir := t.TempDir()
	tree(t, dir, map[string]string{"a/x": "1", "a/y/z": "22", "ab": "3", "l": "->a", ".simplecloud/s": ""})
	s := newScanner(t, dir, Options{})
	for p, want := range map[string]string{
		"a": "a a/x a/y a/y/z", "/a/y/": "a/y a/y/z", "a/x": "a/x", "l": "l", ".simplecloud": "", "/.simplecloud/s": "",
	} {
		got, _ := walk(t, s, p)
		if paths(got) != want {
			t.Errorf("Walk(%q): got %q, want %q", p, paths(got), want)
		}
	}
	for _, p := range []string{"l/x", "nothing"} {
		if _, err := s.Walk(p, func(*Entry) error { return nil }); err == nil {
			t.Errorf("Walk(%q): got nil error, want one (a link on the way, or missing)", p)
		}
	}
	e, ok, err := s.Stat("a/y/z", false)
	if err != nil || !ok || e.Path != "a/y/z" || e.Hash != sha256.Sum256([]byte("22")) {
		t.Errorf("Stat(a/y/z): got %+v, %v, %v; want the file with its hash", e, ok, err)
	}
	if _, _, err := s.Stat("l/x", false); !errors.Is(err, unix.ENOTDIR) && !errors.Is(err, unix.ELOOP) {
		t.Errorf("Stat(l/x) through a link: got %v, want ENOTDIR or ELOOP", err)
	}
	if _, ok, err := s.Stat(".simplecloud/s", false); ok || err != nil {
		t.Errorf("Stat(.simplecloud/s): got ok=%v, %v; want excluded", ok, err)
	}
	stop := errors.New("stop")
	n := 0
	if _, err := s.Walk("", func(*Entry) error { n++; return stop }); err != stop || n != 1 {
		t.Errorf("walk stopped by its callback: got %v after %d entries, want stop after 1", err, n)
	}
}

func TestExclude(t *testing.T) {
	dir := t.TempDir()
	tree(t, dir, map[string]string{"a.tmp": "", "build/x": "", "src/build": "f", "src/b.go": ""})
	var asked []string
	s := newScanner(t, dir, Options{Exclude: func(p string, isDir bool) bool {
		asked = append(asked, fmt.Sprintf("%s:%v", p, isDir))
		return strings.HasSuffix(p, ".tmp") || (isDir && filepath.Base(p) == "build")
	}})
	got, sum := walk(t, s, "")
	if want := "src src/b.go src/build"; paths(got) != want {
		t.Errorf("walk with excludes: got %q, want %q", paths(got), want)
	}
	if sum.Excluded != 2 || slices.Contains(asked, "build/x:false") {
		t.Errorf("got %d excluded, asked %v; want 2 and build/ not entered", sum.Excluded, asked)
	}
}

// hooked hashes as sha does, first running hook with the name of the
// file it hashes: the tests' way to change the tree at a known point of
// the walker's, which runs ahead of the callback.
type hooked struct {
	sha
	hook func(name string)
}

func (h hooked) Hash(f *os.File) ([32]byte, error) {
	h.hook(filepath.Base(f.Name()))
	return h.sha.Hash(f)
}

// TestSymlinkSwapDuringWalk replaces a directory by a link to a directory
// outside the root (and, second, by another directory) after the walk
// made its entry and before it enters it (while it hashes the next file,
// with one worker): nothing outside is reported, the subtree is
// Unscanned.
func TestSymlinkSwapDuringWalk(t *testing.T) {
	outside := t.TempDir()
	tree(t, outside, map[string]string{"secret": "s"})
	for _, swap := range []string{"link", "dir"} {
		t.Run(swap, func(t *testing.T) {
			dir := t.TempDir()
			tree(t, dir, map[string]string{"sub/f": "1", "sub-after": "2"})
			var swapErr error
			s := newScanner(t, dir, Options{Workers: 1, NoCache: true, Hasher: hooked{hook: func(name string) {
				if name != "sub-after" {
					return
				}
				swapErr = os.Rename(filepath.Join(dir, "sub"), filepath.Join(dir, "old"))
				if swapErr == nil && swap == "link" {
					swapErr = os.Symlink(outside, filepath.Join(dir, "sub"))
				} else if swapErr == nil {
					if swapErr = os.Mkdir(filepath.Join(dir, "sub"), 0o755); swapErr == nil {
						swapErr = os.WriteFile(filepath.Join(dir, "sub/secret"), []byte("other"), 0o644)
					}
				}
			}}})
			got, sum := walk(t, s, "")
			must(t, swapErr)
			if want := "sub sub-after"; paths(got) != want {
				t.Errorf("got %q, want %q", paths(got), want)
			}
			if len(sum.Unscanned) != 1 || sum.Unscanned[0].Path != "sub" {
				t.Errorf("unscanned: got %v, want sub", sum.Unscanned)
			}
		})
	}
}

func TestWalkDeep(t *testing.T) {
	dir := t.TempDir()
	p := ""
	for i := range 100 {
		p += fmt.Sprintf("d%d/", i)
	}
	tree(t, dir, map[string]string{p + "f": "deep"})
	got, sum := walk(t, newScanner(t, dir, Options{}), "")
	if len(got) != 101 || sum.Files != 1 || got[100].Path != p+"f" {
		t.Errorf("deep walk: got %d entries, last %q; want 101 ending in the file", len(got), got[len(got)-1].Path)
	}
}

// TestWalkChunks walks a directory larger than a chunk, whose
// subdirectories' contents come in later chunks than their entries, with
// several workers: the order is still the byte order of paths.
func TestWalkChunks(t *testing.T) {
	dir := t.TempDir()
	spec := map[string]string{}
	var want []string
	for i := range 3 * chunk {
		name := fmt.Sprintf("n%03d", i)
		if i%40 == 0 {
			spec[name+"/in"] = "x"
			spec[name+".after"] = "y"
			want = append(want, name, name+"/in", name+".after")
			continue
		}
		spec[name] = name
		want = append(want, name)
	}
	tree(t, dir, spec)
	slices.Sort(want)
	for _, workers := range []int{1, 3} {
		got, sum := walk(t, newScanner(t, dir, Options{Workers: workers}), "")
		if paths(got) != strings.Join(want, " ") {
			t.Errorf("%d workers: got %q, want %q", workers, paths(got), strings.Join(want, " "))
		}
		for _, e := range got {
			if e.Kind == File && e.Hash != sha256.Sum256([]byte(spec[e.Path])) {
				t.Errorf("%d workers: %s: hash of another file", workers, e.Path)
			}
		}
		if sum.Files != len(want)-10 || sum.Dirs != 10 {
			t.Errorf("%d workers: got %+v, want %d files and 10 dirs", workers, sum, len(want)-10)
		}
	}
}

// TestDirBecomesFile replaces a listed directory by a file before its
// entry is made (it lies in a later chunk than the file whose hashing does
// the swap; with one worker the walker makes every entry, in order): it
// is reported as the file, and its subtree is neither walked nor called
// Unscanned.
func TestDirBecomesFile(t *testing.T) {
	dir := t.TempDir()
	spec := map[string]string{"z/in": "x"}
	for i := range chunk + 10 {
		spec[fmt.Sprintf("a%03d", i)] = ""
	}
	tree(t, dir, spec)
	var swapErr error
	s := newScanner(t, dir, Options{Workers: 1, NoCache: true, Hasher: hooked{hook: func(name string) {
		if name == "a000" {
			if swapErr = os.RemoveAll(filepath.Join(dir, "z")); swapErr == nil {
				swapErr = os.WriteFile(filepath.Join(dir, "z"), []byte("now a file"), 0o644)
			}
		}
	}}})
	got, sum := walk(t, s, "")
	must(t, swapErr)
	last := got[len(got)-1]
	if last.Path != "z" || last.Kind != File || len(sum.Unscanned) != 0 || len(got) != chunk+11 {
		t.Errorf("got %d entries ending in %s (%v), unscanned %v; want %d ending in the file z, none unscanned",
			len(got), last.Path, last.Kind, sum.Unscanned, chunk+11)
	}
}

// deferring hashes as sha does unless on, when Defer refuses every file
// and Hash counts the calls that should not have come.
type deferring struct {
	sha
	on     bool
	hashed *int
}

var errDeferredTest = errors.New("deferred")

func (d deferring) Defer() error {
	if d.on {
		return errDeferredTest
	}
	return nil
}

func (d deferring) Hash(f *os.File) ([32]byte, error) {
	*d.hashed++
	return d.sha.Hash(f)
}

// TestDeferrerLeavesFilesUnread checks that a Deferrer that defers is
// asked before the file is opened, and that its error is the entry's, the
// file left unread; one that does not defer hashes as usual.
func TestDeferrerLeavesFilesUnread(t *testing.T) {
	dir := t.TempDir()
	tree(t, dir, map[string]string{"a": "one", "d/b": "two"})
	for _, on := range []bool{true, false} {
		hashed := 0
		s := newScanner(t, dir, Options{NoCache: true, Hasher: deferring{on: on, hashed: &hashed}})
		got, sum := walk(t, s, "")
		files := 0
		for _, e := range got {
			if e.Kind != File {
				continue
			}
			files++
			if deferred := errors.Is(e.Err, errDeferredTest); deferred != on {
				t.Errorf("defer %v: %s: err %v", on, e.Path, e.Err)
			}
			if !on && e.Hash != sha256.Sum256([]byte(map[string]string{"a": "one", "d/b": "two"}[e.Path])) {
				t.Errorf("defer %v: %s: wrong hash", on, e.Path)
			}
		}
		want := 0
		if !on {
			want = 2
		}
		if files != 2 || hashed != want {
			t.Errorf("defer %v: %d files, Hash called %d times; want 2 and %d", on, files, hashed, want)
		}
		if on && sum.Unreadable != 2 {
			t.Errorf("defer on: %d unreadable, want 2", sum.Unreadable)
		}
	}
}
