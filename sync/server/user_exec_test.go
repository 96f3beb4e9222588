package server

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"simplecloud/sync/rootfs"
)

// execRoot makes a user root with a few files and returns the directory
// and its handle.
func execRoot(t *testing.T) (string, *rootfs.Root) {
	t.Helper()
	dir := t.TempDir()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	big := make([]byte, 3<<20+12345)
	for i := range big {
		big[i] = byte(i*7 + i>>11)
	}
	must(os.MkdirAll(filepath.Join(dir, "sub dir"), 0o755))
	must(os.WriteFile(filepath.Join(dir, "big.bin"), big, 0o644))
	must(os.WriteFile(filepath.Join(dir, "sub dir", "it's\nodd"), []byte("odd\n"), 0o644))
	must(os.WriteFile(filepath.Join(dir, "empty"), nil, 0o644))
	must(os.Symlink("big.bin", filepath.Join(dir, "inside")))
	must(os.Symlink("/etc/passwd", filepath.Join(dir, "abs")))
	must(os.Symlink("../../../../../../../etc/passwd", filepath.Join(dir, "rel")))
	must(os.Symlink("/", filepath.Join(dir, "slash")))
	r, err := rootfs.Open(dir)
	must(err)
	t.Cleanup(func() { r.Close() })
	return dir, r
}

// runCmd parses line and runs it below r with stdin.
func runCmd(t *testing.T, r *rootfs.Root, line, stdin string) (stdout, stderr string, code uint32) {
	t.Helper()
	cmd, err := parseUserCommand(line)
	if err != nil {
		t.Fatalf("parse %q: %v", line, err)
	}
	var o, e bytes.Buffer
	code = cmdRunner{root: r}.run(context.Background(), cmd, strings.NewReader(stdin), &o, &e)
	return o.String(), e.String(), code
}

// TestRunSums compares the checksums with GNU md5sum, sha1sum and
// sha256sum run on the same files (the oracle), with the path the command
// names in the output.
func TestRunSums(t *testing.T) {
	dir, r := execRoot(t)
	for _, tc := range []struct{ line, file, name string }{
		{"/big.bin", "big.bin", "/big.bin"},
		{"big.bin", "big.bin", "big.bin"},
		{"/inside", "big.bin", "/inside"},
		{`/sub\ dir/it\'s'` + "\n'odd", "sub dir/it's\nodd", "/sub dir/it's\nodd"},
		{"/empty", "empty", "/empty"},
		{"../../../big.bin", "big.bin", "../../../big.bin"},
	} {
		for _, tool := range []string{"md5sum", "sha1sum", "sha256sum"} {
			t.Run(tool+" "+tc.line, func(t *testing.T) {
				want := oracle(t, dir, tool, tc.file, tc.name)
				got, stderr, code := runCmd(t, r, tool+" "+tc.line, "")
				if got != want || stderr != "" || code != 0 {
					t.Errorf("got %q, %q, exit %d; want %q, exit 0", got, stderr, code, want)
				}
			})
		}
	}
	for _, tool := range []string{"md5sum", "sha1sum", "sha256sum"} {
		for _, in := range []string{"", "some input\n"} {
			t.Run(tool+" stdin "+strconv.Quote(in), func(t *testing.T) {
				cmd := exec.Command(tool)
				cmd.Stdin = strings.NewReader(in)
				want, err := cmd.Output()
				if err != nil {
					t.Fatal(err)
				}
				got, stderr, code := runCmd(t, r, tool, in)
				if got != string(want) || stderr != "" || code != 0 {
					t.Errorf("got %q, %q, exit %d; want %q", got, stderr, code, want)
				}
			})
		}
	}
}

// oracle runs tool on file in dir and puts name in place of the file name.
func oracle(t *testing.T, dir, tool, file, name string) string {
	t.Helper()
	cmd := exec.Command(tool, "--", file)
	cmd.Dir = dir
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s %s: %v", tool, file, err)
	}
	sum := strings.Fields(strings.TrimPrefix(string(out), `\`))[0]
	h := make([]byte, len(sum)/2)
	for i := range h {
		v, _ := strconv.ParseUint(sum[2*i:2*i+2], 16, 8)
		h[i] = byte(v)
	}
	return hashLine(h, name)
}

// TestRunRefusesOutside checks that no path reaches a file outside the
// root: "..", absolute and relative symbolic links out of it fail with
// coreutils' messages and print nothing on stdout.
func TestRunRefusesOutside(t *testing.T) {
	_, r := execRoot(t)
	for _, tc := range []struct{ line, stderr string }{
		{"md5sum /abs", "md5sum: /abs: Permission denied\n"},
		{"md5sum abs", "md5sum: abs: Permission denied\n"},
		{"md5sum /rel", "md5sum: /rel: Permission denied\n"},
		{"sha1sum /slash/etc/passwd", "sha1sum: /slash/etc/passwd: Permission denied\n"},
		{"md5sum ../../etc/passwd", "md5sum: ../../etc/passwd: No such file or directory\n"},
		{"md5sum /etc/passwd", "md5sum: /etc/passwd: No such file or directory\n"},
		{"md5sum /sub\\ dir", "md5sum: '/sub dir': Is a directory\n"},
		{"md5sum /nosuch", "md5sum: /nosuch: No such file or directory\n"},
		{"md5sum /big.bin/x", "md5sum: /big.bin/x: Not a directory\n"},
		{"df -k /abs", "df: /abs: Permission denied\n"},
		{"df -k /nosuch", "df: /nosuch: No such file or directory\n"},
	} {
		t.Run(tc.line, func(t *testing.T) {
			out, stderr, code := runCmd(t, r, tc.line, "")
			if out != "" || stderr != tc.stderr || code != 1 {
				t.Errorf("got %q, %q, exit %d; want no output, %q, exit 1", out, stderr, code, tc.stderr)
			}
		})
	}
}

// TestRunDf compares df's sizes with GNU df -k on the same directory.
func TestRunDf(t *testing.T) {
	dir, r := execRoot(t)
	out, stderr, code := runCmd(t, r, `df -k /sub\ dir`, "")
	if stderr != "" || code != 0 {
		t.Fatalf("got %q, exit %d", stderr, code)
	}
	got := dfFields(t, out)
	if got[5] != "/sub dir" {
		t.Errorf("mount point: got %q, want the path as named", got[5])
	}
	real, err := exec.Command("df", "-k", filepath.Join(dir, "sub dir")).Output()
	if err != nil {
		t.Fatal(err)
	}
	want := dfFields(t, string(real))
	// Used and available may move between the two calls; the size may not.
	if got[1] != want[1] {
		t.Errorf("1K-blocks: got %s, want %s (df -k)", got[1], want[1])
	}
	for i := 2; i <= 3; i++ {
		g, _ := strconv.ParseInt(got[i], 10, 64)
		w, _ := strconv.ParseInt(want[i], 10, 64)
		if d := g - w; d < -64<<10 || d > 64<<10 {
			t.Errorf("field %d: got %d, want %d (df -k) within 64 MiB", i, g, w)
		}
	}
}

// dfFields splits df's second line as rclone does and checks its shape.
func dfFields(t *testing.T, out string) []string {
	t.Helper()
	lines := strings.Split(out, "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[0], "Filesystem") {
		t.Fatalf("df output: got %q, want a header and one line", out)
	}
	f := strings.Fields(lines[1])
	if len(f) < 6 {
		t.Fatalf("df line: got %q, want 6 fields", lines[1])
	}
	return append(f[:5], strings.Join(f[5:], " "))
}

// TestRunCancel checks that a checksum streams and stops when its context
// ends: on a 1 TiB sparse file (far too big to read whole), and on a FIFO
// whose writer sends nothing, where a read waits.
func TestRunCancel(t *testing.T) {
	dir, r := execRoot(t)
	if err := os.Truncate(filepath.Join(dir, "empty"), 1<<40); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(filepath.Join(dir, "fifo"), 0o600); err != nil {
		t.Fatal(err)
	}
	w, err := os.OpenFile(filepath.Join(dir, "fifo"), os.O_RDWR, 0) // a writer that never writes
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	for _, p := range []string{"/empty", "/fifo"} {
		t.Run(p, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			started := make(chan struct{}, 1)
			touch := func() {
				select {
				case started <- struct{}{}:
				default:
				}
			}
			ended := make(chan uint32, 1)
			var out, stderr bytes.Buffer
			go func() {
				ended <- cmdRunner{root: r, touch: touch}.run(ctx, userCommand{name: "md5sum", path: p}, nil, &out, &stderr)
			}()
			if p == "/empty" {
				<-started // reading, and counted as activity
			}
			select {
			case code := <-ended:
				t.Fatalf("ended before the cancel: exit %d, %q", code, stderr.String())
			case <-time.After(200 * time.Millisecond):
			}
			cancel()
			select {
			case code := <-ended:
				if code != 1 || out.Len() != 0 {
					t.Errorf("after the cancel: got exit %d, %q; want exit 1 and no checksum", code, out.String())
				}
			case <-time.After(10 * time.Second):
				t.Fatal("still running 10s after the cancel")
			}
		})
	}
}
