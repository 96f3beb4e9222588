package server_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
)

// TestSFTPOperations drives stock OpenSSH sftp through every common
// operation and checks the result on the server's disk.
func TestSFTPOperations(t *testing.T) {
	needRoot(t)
	u := newUser(t, "")
	root := openDir(t)
	s := startServer(t, root, filepath.Join(t.TempDir(), "hk"), nil)
	local := t.TempDir()
	writeRandom(t, filepath.Join(local, "small"), 1000)
	writeRandom(t, filepath.Join(local, "large"), 64<<20)
	many := filepath.Join(local, "many")
	os.Mkdir(many, 0o755)
	for i := range 300 {
		writeRandom(t, filepath.Join(many, fmt.Sprintf("f%03d", i)), int64(i*37))
	}
	s.mustSFTP(t, u.name, u.key, fmt.Sprintf(`put %[1]s/small
put %[1]s/large
mkdir dir
rename small dir/renamed
put -r %[1]s/many
get dir/renamed %[1]s/small.back
get large %[1]s/large.back
get -r many %[1]s/many.back
ln -s /dir/renamed link
ln -s dir/renamed rellink
chmod 640 dir/renamed
mkdir gone
rmdir gone
put %[1]s/small victim
rm victim
`, local))
	sameFile(t, filepath.Join(local, "small"), filepath.Join(local, "small.back"))
	sameFile(t, filepath.Join(local, "large"), filepath.Join(local, "large.back"))
	for i := range 300 {
		n := fmt.Sprintf("f%03d", i)
		sameFile(t, filepath.Join(many, n), filepath.Join(local, "many.back", n))
	}

	home := filepath.Join(root, u.name)
	st, err := os.Stat(filepath.Join(home, "dir", "renamed"))
	if err != nil {
		t.Fatal(err)
	}
	if got := st.Mode().Perm(); got != 0o640 {
		t.Errorf("chmod: got mode %#o, want 0640", got)
	}
	if sys := st.Sys().(*syscall.Stat_t); int(sys.Uid) != u.uid || int(sys.Gid) != u.gid {
		t.Errorf("owner: got %d:%d, want %d:%d (files must be made by the user's session child)", sys.Uid, sys.Gid, u.uid, u.gid)
	}
	// Targets are stored as given, absolute ones too (issue 14).
	for link, want := range map[string]string{"link": "/dir/renamed", "rellink": "dir/renamed"} {
		if got, err := os.Readlink(filepath.Join(home, link)); err != nil || got != want {
			t.Errorf("readlink %s: got %q, %v; want %q", link, got, err, want)
		}
	}
	for _, p := range []string{"gone", "victim", "small"} {
		if _, err := os.Lstat(filepath.Join(home, p)); !os.IsNotExist(err) {
			t.Errorf("%s: got %v, want it gone", p, err)
		}
	}
	// Reading through a relative link works; listing shows it as a link.
	// The server never follows an absolute link (RESOLVE_BENEATH).
	out := s.mustSFTP(t, u.name, u.key, fmt.Sprintf("get rellink %s/via-link\nls -l\n", local))
	sameFile(t, filepath.Join(local, "small"), filepath.Join(local, "via-link"))
	if out, err := s.sftp(t, u.name, u.key, fmt.Sprintf("get link %s/via-abs\n", local)); err == nil {
		t.Errorf("get through an absolute link: succeeded, want a refusal:\n%s", out)
	}
	if !strings.Contains(out, "lrwxrwxrwx") {
		t.Errorf("ls -l: got %q, want a symlink entry", out)
	}
	// statvfs and posix-rename over an existing file.
	out = s.mustSFTP(t, u.name, u.key, "df -h\nrename large dir/renamed\n")
	if !strings.Contains(out, "Size") {
		t.Errorf("df: got %q, want a statvfs table", out)
	}
	if st, err := os.Stat(filepath.Join(home, "dir", "renamed")); err != nil || st.Size() != 64<<20 {
		t.Errorf("posix-rename over a file: got %v, %v; want the 64 MiB file", st, err)
	}
}

// TestPathTraversal tries to leave the user's root by "..", absolute paths
// and symbolic links (made by the client or planted on the server).
func TestPathTraversal(t *testing.T) {
	needRoot(t)
	u := newUser(t, "")
	root := openDir(t)
	s := startServer(t, root, filepath.Join(t.TempDir(), "hk"), nil)
	s.mustSFTP(t, u.name, u.key, "ls\n") // makes root/USER
	home := filepath.Join(root, u.name)
	secret := filepath.Join(root, "secret")
	if err := os.WriteFile(secret, []byte("outside"), 0o644); err != nil {
		t.Fatal(err)
	}
	for name, target := range map[string]string{"abs": secret, "up": "../secret", "etc": "/etc"} {
		if err := os.Symlink(target, filepath.Join(home, name)); err != nil {
			t.Fatal(err)
		}
	}
	local := t.TempDir()
	cases := []string{
		"get ../secret " + local + "/a",
		"get /../secret " + local + "/b",
		"get abs " + local + "/c",
		"get up " + local + "/d",
		"get etc/passwd " + local + "/e",
		"cd etc",
		"put /etc/hostname up",
		"put /etc/hostname etc/x",
		"mkdir etc/newdir",
		"rename up/.. x",
	}
	for _, c := range cases {
		out, err := s.sftp(t, u.name, u.key, c+"\n")
		if err == nil {
			t.Errorf("%q: succeeded, want a refusal:\n%s", c, out)
		}
	}
	if got, _ := os.ReadFile(secret); string(got) != "outside" {
		t.Errorf("file outside the root: got %q, want it untouched", got)
	}
	if _, err := os.Stat("/etc/x"); err == nil {
		t.Error("/etc/x exists: a write escaped the root")
	}
	// A symlink the client makes to an absolute path is stored as given,
	// and the server never follows it out of the root.
	s.mustSFTP(t, u.name, u.key, "ln -s /etc/passwd pw\n")
	if got, _ := os.Readlink(filepath.Join(home, "pw")); got != "/etc/passwd" {
		t.Errorf("client symlink to /etc/passwd: got target %q, want %q", got, "/etc/passwd")
	}
	if out, err := s.sftp(t, u.name, u.key, "get pw "+t.TempDir()+"/pw\n"); err == nil {
		t.Errorf("get through a link to /etc/passwd: succeeded, want a refusal:\n%s", out)
	}
}

// TestOtherUsersFiles checks that the kernel, not the server, decides: user
// A reaches files of user B placed in A's tree and is refused by the kernel
// because A's session child runs with A's uid.
func TestOtherUsersFiles(t *testing.T) {
	needRoot(t)
	a, b := newUser(t, ""), newUser(t, "")
	root := openDir(t)
	s := startServer(t, root, filepath.Join(t.TempDir(), "hk"), nil)
	s.mustSFTP(t, a.name, a.key, "ls\n")
	s.mustSFTP(t, b.name, b.key, "ls\n")
	ahome := filepath.Join(root, a.name)
	// B's private file and B's private directory inside A's tree.
	bfile := filepath.Join(ahome, "b-private")
	os.WriteFile(bfile, []byte("b's"), 0o600)
	os.Chown(bfile, b.uid, b.gid)
	bdir := filepath.Join(ahome, "b-dir")
	os.Mkdir(bdir, 0o755)
	os.WriteFile(filepath.Join(bdir, "f"), []byte("b's"), 0o644)
	os.Chown(filepath.Join(bdir, "f"), b.uid, b.gid)
	os.Chown(bdir, b.uid, b.gid)
	local := t.TempDir()
	for _, c := range []string{
		"get b-private " + local + "/x",
		"put /etc/hostname b-dir/new",
		"rm b-dir/f",
		"chmod 666 b-private",
	} {
		out, err := s.sftp(t, a.name, a.key, c+"\n")
		if err == nil || !strings.Contains(strings.ToLower(out), "permission denied") {
			t.Errorf("%q as %s: got %v:\n%s\nwant permission denied", c, a.name, err, out)
		}
	}
	// B's own root is B's own: A cannot name it at all.
	if _, err := s.sftp(t, a.name, a.key, "ls /../"+b.name+"\n"); err == nil {
		t.Errorf("A listed B's root")
	}
	// And B's root is private on disk (0700, owned by B).
	st, _ := os.Stat(filepath.Join(root, b.name))
	if st.Mode().Perm() != 0o700 || int(st.Sys().(*syscall.Stat_t).Uid) != b.uid {
		t.Errorf("B's root: got mode %#o uid %d, want 0700 uid %d", st.Mode().Perm(), st.Sys().(*syscall.Stat_t).Uid, b.uid)
	}
}

// TestConcurrentSessions runs 50 sftp clients at once.
func TestConcurrentSessions(t *testing.T) {
	needRoot(t)
	u := newUser(t, "")
	root := openDir(t)
	// 50 handshakes at once from one address: past the default caps.
	s := startServer(t, root, filepath.Join(t.TempDir(), "hk"), nil,
		configFile(t, "max_startups = 100\nper_source_max_startups = 100")...)
	local := t.TempDir()
	writeRandom(t, filepath.Join(local, "src"), 256<<10)
	s.mustSFTP(t, u.name, u.key, "ls\n") // records the host key once
	var wg sync.WaitGroup
	errs := make(chan error, 50)
	for i := range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			out, err := s.sftp(t, u.name, u.key, fmt.Sprintf("put %[1]s/src f%[2]d\nget f%[2]d %[1]s/back%[2]d\n", local, i))
			if err != nil {
				errs <- fmt.Errorf("session %d: %v: %s", i, err, out)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	for i := range 50 {
		sameFile(t, filepath.Join(local, "src"), filepath.Join(local, fmt.Sprintf("back%d", i)))
	}
}
