package server_test

import (
	"context"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// rclone runs rclone with a remote "sc:" for the SFTP backend against s as
// u, configured only through environment variables, with a known_hosts
// file made from the server's host keys (strict checking stays on).
func (s *server) rclone(t *testing.T, u *testUser, args ...string) (string, error) {
	t.Helper()
	kh := filepath.Join(t.TempDir(), "known_hosts")
	var lines []string
	for _, k := range []string{"ssh_host_ed25519_key", "ssh_host_ecdsa_key"} {
		pub := strings.TrimSpace(run(t, "ssh-keygen", "-y", "-f", filepath.Join(s.hostKeyDir, k)))
		lines = append(lines, "[127.0.0.1]:"+s.port+" "+pub)
	}
	if err := os.WriteFile(kh, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	conf := filepath.Join(t.TempDir(), "rclone.conf") // empty: not the machine's own
	if err := os.WriteFile(conf, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "rclone", args...)
	cmd.Env = append(os.Environ(),
		"RCLONE_CONFIG="+conf,
		"RCLONE_CONFIG_SC_TYPE=sftp",
		"RCLONE_CONFIG_SC_HOST=127.0.0.1",
		"RCLONE_CONFIG_SC_PORT="+s.port,
		"RCLONE_CONFIG_SC_USER="+u.name,
		"RCLONE_CONFIG_SC_KEY_FILE="+u.key,
		"RCLONE_CONFIG_SC_KNOWN_HOSTS_FILE="+kh,
	)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// mustRclone is rclone that fails the test on error.
func (s *server) mustRclone(t *testing.T, u *testUser, args ...string) string {
	t.Helper()
	out, err := s.rclone(t, u, args...)
	if err != nil {
		t.Fatalf("rclone %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

// TestRclone drives rclone's SFTP backend against the server: copy, lsf,
// moveto (remote to remote and local to remote), delete and check, with
// the results checked on the server's disk, owned by the user.
func TestRclone(t *testing.T) {
	needRoot(t, "rclone")
	u := newUser(t, "")
	root := openDir(t)
	s := startServer(t, root, filepath.Join(t.TempDir(), "hk"), nil)
	src := t.TempDir()
	os.MkdirAll(filepath.Join(src, "sub", "deep"), 0o755)
	os.WriteFile(filepath.Join(src, "a.txt"), []byte("alpha\n"), 0o644)
	writeRandom(t, filepath.Join(src, "sub", "b.bin"), 3<<20)
	os.WriteFile(filepath.Join(src, "sub", "deep", "c.txt"), []byte("gamma\n"), 0o644)
	old := time.Date(2020, 1, 2, 3, 4, 5, 0, time.UTC)
	os.Chtimes(filepath.Join(src, "a.txt"), old, old)
	home := filepath.Join(root, u.name)
	data := filepath.Join(home, "data")

	s.mustRclone(t, u, "copy", src, "sc:data")
	for _, f := range []string{"a.txt", "sub/b.bin", "sub/deep/c.txt"} {
		sameFile(t, filepath.Join(src, f), filepath.Join(data, f))
	}
	if st, err := os.Stat(filepath.Join(data, "a.txt")); err != nil || !st.ModTime().Equal(old) {
		t.Errorf("modification time after copy: got %v, %v; want %v", st.ModTime(), err, old)
	}
	checkOwner(t, home, u)

	got := s.mustRclone(t, u, "lsf", "-R", "sc:data")
	if want := "a.txt\nsub/\nsub/b.bin\nsub/deep/\nsub/deep/c.txt\n"; got != want {
		t.Errorf("lsf -R: got %q, want %q", got, want)
	}
	// --download compares contents (TestRcloneHashes checks by hash).
	s.mustRclone(t, u, "check", "--download", src, "sc:data")

	s.mustRclone(t, u, "moveto", "sc:data/a.txt", "sc:data/sub/moved.txt")
	if _, err := os.Lstat(filepath.Join(data, "a.txt")); !os.IsNotExist(err) {
		t.Errorf("a.txt after moveto: got %v, want it gone", err)
	}
	sameFile(t, filepath.Join(src, "a.txt"), filepath.Join(data, "sub", "moved.txt"))

	os.WriteFile(filepath.Join(src, "local.txt"), []byte("from here\n"), 0o644)
	s.mustRclone(t, u, "moveto", filepath.Join(src, "local.txt"), "sc:data/up.txt")
	if _, err := os.Lstat(filepath.Join(src, "local.txt")); !os.IsNotExist(err) {
		t.Errorf("local file after moveto to the server: got %v, want it gone", err)
	}
	if b, err := os.ReadFile(filepath.Join(data, "up.txt")); err != nil || string(b) != "from here\n" {
		t.Errorf("up.txt: got %q, %v; want %q", b, err, "from here\n")
	}

	s.mustRclone(t, u, "delete", "sc:data/sub/deep")
	if _, err := os.Lstat(filepath.Join(data, "sub", "deep", "c.txt")); !os.IsNotExist(err) {
		t.Errorf("c.txt after delete: got %v, want it gone", err)
	}
	if out, err := s.rclone(t, u, "check", "--download", src, "sc:data"); err == nil {
		t.Errorf("check after the remote changed: got success, want differences reported:\n%s", out)
	}
	s.mustRclone(t, u, "copy", src, "sc:data")
	s.mustRclone(t, u, "check", "--download", "--one-way", src, "sc:data")
	checkOwner(t, home, u)
}

// checkOwner fails t unless everything under dir belongs to u.
func checkOwner(t *testing.T, dir string, u *testUser) {
	t.Helper()
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		if st := info.Sys().(*syscall.Stat_t); int(st.Uid) != u.uid || int(st.Gid) != u.gid {
			t.Errorf("%s: got owner %d:%d, want %d:%d", p, st.Uid, st.Gid, u.uid, u.gid)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
