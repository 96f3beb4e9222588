package core

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// ignorePaths are checked against every pattern set; the ones in
// ignoreDirs are directories.
var ignorePaths = []string{"foo", "foo.txt", "a/foo", "a/b/foo.txt", "build", "build/x.o", "src/build", "src/build/y",
	"doc/frotz", "doc/frotz/z", "a/doc/frotz", "x.log", "logs/x.log", "logs/keep.log", "logs/sub/keep.log", ".hidden",
	"d/.hidden", "abc", "abd", "a?c", "a c", "#hash", "!bang", "deep/a/b/c/d.tmp", "deep/z", "q/w/e", "dirfile",
	"dirfile2/inner", "sub/s.txt", "sub/deeper/s.txt", "sub/t.log", "Foo", "trail "}

var ignoreDirs = map[string]bool{"build": true, "src/build": true, "doc/frotz": true, "logs": true, "logs/sub": true,
	"deep": true, "deep/a": true, "deep/a/b": true, "deep/a/b/c": true, "dirfile2": true, "q": true, "q/w": true,
	"a": true, "a/b": true, "src": true, "doc": true, "a/doc": true, "a/doc/frotz": true, "d": true, "sub": true, "sub/deeper": true}

// TestIgnoreMatchesGit checks Ignore against `git check-ignore` on the
// same patterns and the same files and directories: git is the oracle.
func TestIgnoreMatchesGit(t *testing.T) {
	git, err := exec.LookPath("git")
	if err != nil {
		t.Fatalf("git is needed as the oracle for gitignore semantics: %v", err)
	}
	root := t.TempDir()
	run := func(stdin string, args ...string) string {
		cmd := exec.Command(git, append([]string{"-c", "core.excludesFile=", "-c", "core.ignoreCase=false"}, args...)...)
		cmd.Dir = root
		cmd.Env = append(os.Environ(), "GIT_CONFIG_NOSYSTEM=1", "HOME="+root)
		cmd.Stdin = strings.NewReader(stdin)
		out, err := cmd.Output()
		if ee, ok := err.(*exec.ExitError); ok && ee.ExitCode() == 1 {
			err = nil // check-ignore: nothing ignored
		}
		if err != nil {
			t.Fatalf("git %v: %v", args, err)
		}
		return string(out)
	}
	run("", "init", "-q")
	for _, p := range ignorePaths {
		full := filepath.Join(root, p)
		if ignoreDirs[p] {
			must(t, os.MkdirAll(full, 0o755))
			continue
		}
		must(t, os.MkdirAll(filepath.Dir(full), 0o755))
		must(t, os.WriteFile(full, nil, 0o644))
	}
	sets := []struct{ root, sub string }{
		{"foo", ""}, {"foo/", ""}, {"/foo", ""}, {"*.txt", ""}, {"build/", ""}, {"/build/", ""}, {"doc/frotz", ""},
		{"doc/frotz/", ""}, {"*.log\n!keep.log", ""}, {"logs/\n!logs/keep.log", ""}, {"**/foo", ""}, {"deep/**", ""},
		{"deep/**/d.tmp", ""}, {"a?c", ""}, {"ab[cd]", ""}, {"ab[!c]", ""}, {"ab[^c]", ""}, {"a\\[!c]", ""}, {"[!a]*", ""}, {"\\#hash", ""}, {"\\!bang", ""},
		{"# comment\nabc", ""}, {".*", ""}, {"a\\ c", ""}, {"foo  ", ""}, {"trail\\ ", ""}, {"q/*/e", ""}, {"**/b/**", ""},
		{"*", ""}, {"*\n!*.txt", ""}, {"dirfile/", ""}, {"dirfile2", ""}, {"logs/*.log", ""}, {"/*.log", ""},
		{"a/**/foo.txt", ""}, {"foo\r\nabc\r\n", ""}, {"\ufeffabc", ""}, {"", "s.txt"}, {"", "/s.txt"},
		{"", "*.log\ndeeper/"}, {"*.txt", "!s.txt"}, {"sub/", "!s.txt"}, {"FOO", ""},
	}
	for _, set := range sets {
		must(t, os.WriteFile(filepath.Join(root, ".gitignore"), []byte(set.root), 0o644))
		must(t, os.WriteFile(filepath.Join(root, "sub", ".gitignore"), []byte(set.sub), 0o644))
		out := run(strings.Join(ignorePaths, "\n")+"\n", "check-ignore", "--no-index", "--stdin")
		want := map[string]bool{}
		for _, l := range strings.Split(out, "\n") {
			want[l] = true
		}
		var ig Ignore
		ig.Add("", []byte(set.root))
		ig.Add("sub", []byte(set.sub))
		for _, p := range ignorePaths {
			if got := ig.Ignored(p, ignoreDirs[p]); got != want[p] {
				t.Errorf("patterns %q, sub/ %q: Ignored(%q): got %v, want %v (git)", set.root, set.sub, p, got, want[p])
			}
		}
	}
}

func TestBuiltin(t *testing.T) {
	ignored := []string{".simplecloud", TempPrefix + "abc", ".notes.txt.swp", ".a.swo", ".a.swa", ".a.swx", "a.txt~",
		"#a.txt#", ".#a.txt", ".~lock.report.odt#", "~$report.docx", "~WRL0001.tmp", ".goutputstream-ABC123",
		"a.txt.kate-swp", ".DS_Store", "Thumbs.db"}
	kept := []string{"a.tmp", "report.tmp", "swp", ".swp.txt", "a.swp", ".a.swq", "#a", "a#", ".~lock.x", "x",
		".simplecloudignore", ".simplecloud2", "thumbs.db.bak", "a" + cl, ".", "4913"}
	for _, n := range ignored {
		if !Builtin(n) {
			t.Errorf("Builtin(%q): got false, want true", n)
		}
	}
	for _, n := range kept {
		if Builtin(n) {
			t.Errorf("Builtin(%q): got true, want false", n)
		}
	}
	var ig *Ignore
	if !ig.Ignored("a/.simplecloud/versions/x", false) || !ig.Ignored("d/.x.swp", false) || ig.Ignored("d/x", false) {
		t.Errorf("a nil Ignore does not apply the built-in rules to every element")
	}
}
