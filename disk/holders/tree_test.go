package holders

import (
	"bufio"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// buildTree writes the fake machine described by testdata/NAME.txtar into
// a temporary directory and returns it. Sections are "-- PATH --" lines;
// a section whose content starts with "-> " is a symlink.
func buildTree(t *testing.T, name string) string {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", name+".txtar"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	dir := t.TempDir()
	var cur string
	var body strings.Builder
	flush := func() {
		if cur == "" {
			return
		}
		p := filepath.Join(dir, cur)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		c := body.String()
		if target, ok := strings.CutPrefix(c, "-> "); ok {
			err = os.Symlink(strings.TrimSuffix(target, "\n"), p)
		} else {
			err = os.WriteFile(p, []byte(c), 0o644)
		}
		if err != nil {
			t.Fatal(err)
		}
		body.Reset()
	}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "-- ") && strings.HasSuffix(line, " --") {
			flush()
			cur = strings.TrimSuffix(strings.TrimPrefix(line, "-- "), " --")
			continue
		}
		if cur != "" {
			body.WriteString(line + "\n")
		}
	}
	flush()
	return dir
}

// fakeStat answers stats of fake /proc links from a table and records every
// call, so tests can check what was (not) stat'ed.
type fakeStat struct {
	root  string
	ids   map[string]FileID // path relative to root -> result
	mu    sync.Mutex
	calls []string
}

func (f *fakeStat) stat(p string) (FileID, error) {
	rel, err := filepath.Rel(f.root, p)
	if err != nil || strings.HasPrefix(rel, "..") {
		rel = p
	}
	f.mu.Lock()
	f.calls = append(f.calls, rel)
	f.mu.Unlock()
	if id, ok := f.ids[rel]; ok {
		return id, nil
	}
	return FileID{}, &fs.PathError{Op: "statx", Path: p, Err: fs.ErrNotExist}
}

func (f *fakeStat) called(rel string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, c := range f.calls {
		if c == rel {
			return true
		}
	}
	return false
}

func fakeScanner(t *testing.T, tree string, ids map[string]FileID) (*Scanner, *fakeStat) {
	t.Helper()
	root := buildTree(t, tree)
	fst := &fakeStat{root: root, ids: ids}
	return &Scanner{
		ProcDir: filepath.Join(root, "proc"),
		SysDir:  filepath.Join(root, "sys"),
		DevDir:  filepath.Join(root, "dev"),
		Stat:    fst.stat,
		Loop:    func(string) (Dev, bool) { return Dev{}, false },
	}, fst
}
