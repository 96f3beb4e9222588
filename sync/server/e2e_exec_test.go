package server_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"simplecloud/internal/testutil"
)

// TestRcloneHashes drives rclone's SFTP backend, which probes for md5sum
// and sha1sum and then runs them per file over exec requests: `rclone
// check` compares hashes and finds a file changed on the server with its
// size and time kept (which sizes alone cannot find), and `rclone md5sum`
// and `sha1sum` agree with the local tools.
func TestRcloneHashes(t *testing.T) {
	needRoot(t, "rclone", "md5sum", "sha1sum")
	u := newUser(t, "")
	root := openDir(t)
	s := startServer(t, root, filepath.Join(t.TempDir(), "hk"), nil)
	src := t.TempDir()
	os.MkdirAll(filepath.Join(src, "sub dir"), 0o755)
	os.WriteFile(filepath.Join(src, "a.txt"), []byte("alpha\n"), 0o644)
	os.WriteFile(filepath.Join(src, "sub dir", "it's $odd; été.txt"), []byte("odd\n"), 0o644)
	os.WriteFile(filepath.Join(src, "back\\slash"), []byte("bs\n"), 0o644)
	writeRandom(t, filepath.Join(src, "sub dir", "big.bin"), 5<<20)
	data := filepath.Join(root, u.name, "data")

	s.mustRclone(t, u, "copy", src, "sc:data")
	out := s.mustRclone(t, u, "check", src, "sc:data")
	if strings.Contains(out, "No common hash") || !strings.Contains(out, "4 matching files") {
		t.Errorf("check: got %q, want 4 files matched by hash", out)
	}
	s.waitLog(t, "command answered")
	for _, line := range strings.Split(s.logs.String(), "\n") {
		if strings.Contains(line, "command answered") && strings.Contains(line, "a.txt") {
			t.Errorf("log at info names the file: %s", line)
		}
	}

	for _, tool := range []string{"md5sum", "sha1sum"} {
		// The command named, as rclone saves it in its config after a probe:
		// rclone 1.60 probes once per run, and every file whose hash is
		// asked for during the probe gets "hash type not supported" (with
		// OpenSSH too). check, above, probed.
		got := sortedLines(s.mustRclone(t, u, tool, "--sftp-"+tool+"-command", tool, "sc:data"))
		cmd := exec.Command(tool, "a.txt", "sub dir/it's $odd; été.txt", "back\\slash", "sub dir/big.bin")
		cmd.Dir = src
		want, err := cmd.Output()
		if err != nil {
			t.Fatal(err)
		}
		// rclone prints names unescaped, without coreutils' leading backslash.
		lines := strings.Split(strings.TrimSpace(string(want)), "\n")
		for i, l := range lines {
			if strings.HasPrefix(l, `\`) {
				lines[i] = strings.ReplaceAll(l[1:], `\\`, `\`)
			}
		}
		if w := sortedLines(strings.Join(lines, "\n")); got != w {
			t.Errorf("rclone %s: got\n%s\nwant (local %s)\n%s", tool, got, tool, w)
		}
	}

	// The same size and times, other bytes: only a hash tells them apart.
	p := filepath.Join(data, "sub dir", "it's $odd; été.txt")
	st, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(p, []byte("ODD\n"), 0o644)
	os.Chtimes(p, st.ModTime(), st.ModTime())
	out, err = s.rclone(t, u, "check", src, "sc:data")
	if err == nil || !strings.Contains(out, "1 differences found") || !strings.Contains(out, "3 matching files") {
		t.Errorf("check after a change on the server: got %v, %q; want 1 difference and 3 matching", err, out)
	}
}

// sortedLines returns the lines of s sorted, for output whose order varies.
func sortedLines(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}

// TestExecCommands runs the answered commands with OpenSSH's ssh: their
// output is that of the local tools on the same file, df's sizes are the
// file system's, `rclone about` shows them, and every other command line,
// and every path out of the user's root, is refused with nothing from
// outside on stdout.
func TestExecCommands(t *testing.T) {
	needRoot(t, "rclone", "sha256sum", "df")
	u := newUser(t, "")
	forced := newUser(t, `restrict,command="internal-sftp"`)
	root := openDir(t)
	s := startServer(t, root, filepath.Join(t.TempDir(), "hk"), nil)
	home := filepath.Join(root, u.name)
	s.mustSFTP(t, u.name, u.key, "mkdir d\n") // makes the user's root
	os.WriteFile(filepath.Join(home, "d", "f x"), []byte("content\n"), 0o644)
	os.Symlink("/etc/passwd", filepath.Join(home, "abs"))
	os.Symlink("../../../../../../../../etc/passwd", filepath.Join(home, "rel"))
	os.Symlink("/etc", filepath.Join(home, "etc"))
	run(t, "chown", "-h", "-R", u.name, home)

	for _, tool := range []string{"md5sum", "sha1sum", "sha256sum"} {
		out, err := s.ssh(t, u.name, u.key, tool, `/d/f\ x`)
		cmd := exec.Command(tool, "f x")
		cmd.Dir = filepath.Join(home, "d")
		want, _ := cmd.Output()
		if got := strings.Replace(out, "/d/f x", "f x", 1); err != nil || got != string(want) {
			t.Errorf("ssh %s: got %v, %q; want %q", tool, err, out, want)
		}
	}

	out, err := s.ssh(t, u.name, u.key, "df", "-k", "/d")
	if err != nil {
		t.Fatalf("ssh df -k /d: %v: %s", err, out)
	}
	real, err := exec.Command("df", "-k", home).Output()
	if err != nil {
		t.Fatal(err)
	}
	got, want := strings.Fields(strings.Split(out, "\n")[1]), strings.Fields(strings.Split(string(real), "\n")[1])
	if len(got) != 6 || got[1] != want[1] || got[5] != "/d" {
		t.Errorf("df -k /d: got %q, want the size of %q and the path /d", out, real)
	}
	kib, _ := strconv.ParseInt(want[1], 10, 64)
	if about := s.mustRclone(t, u, "about", "--json", "sc:"); !strings.Contains(about, `"total": `+strconv.FormatInt(kib<<10, 10)) {
		t.Errorf("rclone about: got %s, want total %d", about, kib<<10)
	}

	passwd := run(t, "md5sum", "/etc/passwd")[:32]
	for _, tc := range []struct {
		remote []string
		want   string
	}{
		{[]string{"md5sum", "../../etc/passwd"}, "md5sum: ../../etc/passwd: Permission denied"}, // the user's /etc
		{[]string{"md5sum", "../../../nosuch/passwd"}, "md5sum: ../../../nosuch/passwd: No such file or directory"},
		{[]string{"md5sum", "/etc/passwd"}, "md5sum: /etc/passwd: Permission denied"}, // /etc is a link out
		{[]string{"md5sum", "/abs"}, "md5sum: /abs: Permission denied"},
		{[]string{"md5sum", "rel"}, "md5sum: rel: Permission denied"},
		{[]string{"df", "-k", "/etc/"}, "df: /etc/: Permission denied"},
		{[]string{"md5sum", "d/f\\ x", "rel"}, "offers only the sftp subsystem"},
		{[]string{"md5sum;", "id"}, "offers only the sftp subsystem"},
		{[]string{"md5sum", "/abs;", "id"}, "offers only the sftp subsystem"},
		{[]string{"md5sum", "/abs", "|", "sh"}, "offers only the sftp subsystem"},
		{[]string{"md5sum", "$(id)"}, "offers only the sftp subsystem"},
		{[]string{"md5sum", "-c", "/abs"}, "offers only the sftp subsystem"},
		{[]string{"cat", "/abs"}, "offers only the sftp subsystem"},
		{[]string{"id"}, "offers only the sftp subsystem"},
		{[]string{"df", "/"}, "offers only the sftp subsystem"},
		{[]string{"echo", "${ShellId}%ComSpec%"}, "offers only the sftp subsystem"},
	} {
		t.Run(strings.Join(tc.remote, " "), func(t *testing.T) {
			out, err := s.ssh(t, u.name, u.key, tc.remote...)
			if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 || !strings.Contains(out, tc.want) {
				t.Errorf("got %v, %q; want exit 1 and %q", err, out, tc.want)
			}
			if strings.Contains(out, passwd) || strings.Contains(out, "root:") || strings.Contains(out, "uid=") {
				t.Errorf("got %q: output from outside the root", out)
			}
		})
	}

	// A key confined to sftp still gets the sftp server for these commands.
	for _, remote := range [][]string{{"md5sum", "/d/f\\ x"}, {"md5sum"}, {"df", "-k", "/"}} {
		out, err := sftpHello(t, s, forced, remote...)
		if err != nil || !isSFTPVersion(out) {
			t.Errorf("ssh %q with the forced key: got %v, %q; want the sftp server's version packet", remote, err, out)
		}
	}
}

// TestExecCancel checks that closing the channel stops a checksum: the
// session of a 1 TiB sparse file is closed while the server reads it, and
// the command ends at once; the connection still answers. Then ssh is
// killed during another, and the connection child ends.
func TestExecCancel(t *testing.T) {
	needRoot(t)
	u := newUser(t, "")
	root := openDir(t)
	s := startServer(t, root, filepath.Join(t.TempDir(), "hk"), nil)
	s.mustSFTP(t, u.name, u.key, "mkdir d\n") // makes the user's root
	huge := filepath.Join(root, u.name, "huge")
	if err := os.WriteFile(huge, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(huge, 1<<40); err != nil {
		t.Fatal(err)
	}
	c := dialUser(t, s, u)
	sess, err := c.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	if err := sess.Start("md5sum /huge"); err != nil {
		t.Fatal(err)
	}
	s.waitLog(t, "command answered")
	sess.Close()
	s.waitLog(t, "command ended")
	sess, err = c.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	if out, err := sess.Output("md5sum"); err != nil || string(out) != "d41d8cd98f00b204e9800998ecf8427e  -\n" {
		t.Errorf("md5sum after the cancel: got %v, %q; want the empty input's checksum", err, out)
	}

	closed := strings.Count(s.logs.String(), "connection closed")
	cmd := exec.Command("ssh", append(s.sshArgs(u.key, "-p"), u.name+"@127.0.0.1", "md5sum", "/huge")...)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	testutil.Eventually(t, 20*time.Second, func() error {
		if n := strings.Count(s.logs.String(), "command answered"); n < 3 {
			return fmt.Errorf("%d commands answered, want 3", n)
		}
		return nil
	})
	cmd.Process.Kill()
	cmd.Wait()
	testutil.Eventually(t, 10*time.Second, func() error {
		if n := strings.Count(s.logs.String(), "connection closed"); n <= closed {
			return fmt.Errorf("the connection of the killed ssh is still open:\n%s", s.logs.String())
		}
		return nil
	})
}
