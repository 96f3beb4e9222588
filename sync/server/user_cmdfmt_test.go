package server

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// oddNames are file names that coreutils quotes or escapes.
var oddNames = []string{
	"plain.txt", "a b", "a:b", "a=b", "#a", "a#", "~a", "a~", "é", "a\tb", "a$b", `a"b`, `a'b"c`, "a!b",
	"a*b", "a%b", "a+b", "a,b", "a^b", "a{b", "a]b", "a\x01b", "a\xffb", "it's$x", "-x", "x'y", "a'b!c",
	"a?b", "a}b", `a\b`, "a'b\tc", `a'b\c`, "a'b`c", "a'b:c", "a'b*c", "é\x01", "\x01a", "a\x01\x02b",
	"a\x01'b", "#x'y", "~", "new\nline", "cr\rx", "back\\slash",
}

// TestErrorLine compares the message for a missing file with GNU md5sum's
// (the oracle) for names that coreutils quotes in many ways.
func TestErrorLine(t *testing.T) {
	if _, err := exec.LookPath("md5sum"); err != nil {
		t.Skip("needs md5sum")
	}
	dir := t.TempDir()
	for _, name := range oddNames {
		t.Run(name, func(t *testing.T) {
			cmd := exec.Command("md5sum", "--", name)
			cmd.Dir = dir
			cmd.Env = append(os.Environ(), "LC_ALL=C.UTF-8")
			want, _ := cmd.CombinedOutput()
			if got := errorLine("md5sum", name, syscall.ENOENT); got != string(want) {
				t.Errorf("got %q, want %q", got, want)
			}
		})
	}
}

// TestHashLine compares checksum lines with GNU md5sum's and sha256sum's
// for files with names that coreutils escapes.
func TestHashLine(t *testing.T) {
	if _, err := exec.LookPath("sha256sum"); err != nil {
		t.Skip("needs md5sum and sha256sum")
	}
	dir := t.TempDir()
	for i, name := range oddNames {
		t.Run(name, func(t *testing.T) {
			content := strings.Repeat(name, i)
			if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
				t.Fatal(err)
			}
			for _, tool := range []string{"md5sum", "sha1sum", "sha256sum"} {
				cmd := exec.Command(tool, "--", name)
				cmd.Dir = dir
				want, err := cmd.Output()
				if err != nil {
					t.Fatalf("%s: %v", tool, err)
				}
				h := newHash(tool)
				h.Write([]byte(content))
				if got := hashLine(h.Sum(nil), name); got != string(want) {
					t.Errorf("%s: got %q, want %q", tool, got, want)
				}
			}
		})
	}
}

func TestDfOutput(t *testing.T) {
	for _, tc := range []struct {
		name string
		u    dfUsage
		path string
		want string
	}{
		{"4k blocks", dfUsage{blocks: 66053021, bfree: 61520643, bavail: 19342938, frsize: 4096}, "/",
			"Filesystem     1K-blocks     Used Available Use% Mounted on\n" +
				"-              264212084 18129512  77371752  19% /\n"},
		{"rounded up", dfUsage{blocks: 3, bfree: 2, bavail: 1, frsize: 512}, "/data",
			"Filesystem     1K-blocks Used Available Use% Mounted on\n" +
				"-                      2    1         1  50% /data\n"},
		{"empty", dfUsage{frsize: 4096}, "/x y",
			"Filesystem     1K-blocks Used Available Use% Mounted on\n" +
				"-                      0    0         0    - /x y\n"},
		{"full", dfUsage{blocks: 10, bfree: 1, bavail: 0, frsize: 1024}, "/",
			"Filesystem     1K-blocks Used Available Use% Mounted on\n" +
				"-                     10    9         0 100% /\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := dfOutput(tc.u, tc.path); got != tc.want {
				t.Errorf("got\n%s\nwant\n%s", got, tc.want)
			}
		})
	}
}
