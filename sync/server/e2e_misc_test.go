package server_test

import (
	"debug/buildinfo"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestHomeRoot serves users their home directories (--root "").
func TestHomeRoot(t *testing.T) {
	needRoot(t)
	u := newUser(t, "")
	s := startServer(t, "", filepath.Join(t.TempDir(), "hk"), nil)
	out := s.mustSFTP(t, u.name, u.key, "put /etc/hostname from-sftp\nls -a\n")
	if !strings.Contains(out, ".ssh") {
		t.Errorf("ls -a of the home: got %q, want .ssh listed", out)
	}
	if _, err := os.Stat(filepath.Join(u.home, "from-sftp")); err != nil {
		t.Errorf("upload into the home: %v", err)
	}
}

// TestPlantedRoot refuses a Root/USER that is not the user's own, and a
// Root that users could write to.
func TestPlantedRoot(t *testing.T) {
	needRoot(t)
	a, b := newUser(t, ""), newUser(t, "")
	root := openDir(t)
	if err := os.Mkdir(filepath.Join(root, b.name), 0o777); err != nil {
		t.Fatal(err)
	}
	os.Chown(filepath.Join(root, b.name), a.uid, a.gid) // A planted B's root
	s := startServer(t, root, filepath.Join(t.TempDir(), "hk"), nil)
	if out, err := s.sftp(t, b.name, b.key, "ls\n"); err == nil {
		t.Errorf("B served from a directory A owns: %s", out)
	}
	s.waitLog(t, "not a directory owned by "+b.name)

	os.Chmod(root, 0o777)
	out, err := exec.Command(binary(t), "serve", "--listen", "127.0.0.1:0", "--root", root,
		"--host-key-dir", filepath.Join(t.TempDir(), "hk")).CombinedOutput()
	if err == nil || !strings.Contains(string(out), "writable by group or others") {
		t.Errorf("serve with a world-writable root: got %v: %s, want a refusal", err, out)
	}
}

// TestIdleTimeout closes a connection that carries no traffic.
func TestIdleTimeout(t *testing.T) {
	needRoot(t)
	u := newUser(t, "")
	s := startServer(t, openDir(t), filepath.Join(t.TempDir(), "hk"), nil,
		"--idle-timeout", "2s", "--keepalive-interval", "500ms")
	// ssh -N opens no session and so sends no channel traffic.
	cmd := exec.Command("ssh", append(s.sshArgs(u.key, "-p"), "-N", u.name+"@127.0.0.1")...)
	start := time.Now()
	done := make(chan error, 1)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { done <- cmd.Wait() }()
	select {
	case <-done:
		if d := time.Since(start); d < 2*time.Second {
			t.Errorf("connection closed after %v, before the idle timeout", d)
		}
		s.waitLog(t, "closing idle connection")
	case <-time.After(20 * time.Second):
		cmd.Process.Kill()
		t.Fatal("idle connection still open after 20s")
	}
}

// TestConnChildIsUser holds an sftp session open and checks the process
// that serves it: every thread has the user's uids, gids and groups, no
// capability left, no_new_privs set (so no exec, of a set-user-id root
// binary either, can gain anything) and, in the pure-Go build, an empty
// bounding set; it holds no descriptor but its own, although the server
// inherited some without close-on-exec; and the root parent holds nothing
// under the data root.
func TestConnChildIsUser(t *testing.T) {
	needRoot(t)
	u := newUser(t, "")
	root := openDir(t)
	hk := filepath.Join(t.TempDir(), "hk")
	// The server inherits a file on descriptors 3 to 9, not close-on-exec,
	// as it may from systemd, a shell or a test harness.
	canary, err := os.Create(filepath.Join(t.TempDir(), "inherited-canary"))
	if err != nil {
		t.Fatal(err)
	}
	defer canary.Close()
	cmd := serverCmd(binary(t), root, hk, nil)
	for range 7 {
		cmd.ExtraFiles = append(cmd.ExtraFiles, canary)
	}
	s := startServerCmd(t, cmd, root, hk)
	cli := exec.Command("sftp", append(s.sshArgs(u.key, "-P"), "-b", "-", u.name+"@127.0.0.1")...)
	in, err := cli.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cli.Start(); err != nil {
		t.Fatal(err)
	}
	defer cli.Wait()
	defer in.Close()
	io.WriteString(in, "mkdir d\n")
	s.waitLog(t, "sftp session started")
	var pid int
	logs := s.logs.String()
	if i := strings.Index(logs[strings.Index(logs, "sftp session started"):], "pid="); i >= 0 {
		fmt.Sscanf(logs[strings.Index(logs, "sftp session started")+i+4:], "%d", &pid)
	}
	if pid == 0 || pid == s.cmd.Process.Pid {
		t.Fatalf("session pid: got %d (server %d), want a child's:\n%s", pid, s.cmd.Process.Pid, logs)
	}
	groups := strings.Fields(run(t, "id", "-G", u.name))
	slices.Sort(groups)
	const zero = "0000000000000000"
	want := fmt.Sprintf("Uid: %d %d %d %d Gid: %d %d %d %d Groups: %s CapPrm: %s CapEff: %s CapBnd: %s CapAmb: %s NoNewPrivs: 1",
		u.uid, u.uid, u.uid, u.uid, u.gid, u.gid, u.gid, u.gid, strings.Join(groups, " "), zero, zero, zero, zero)
	// A cgo build (PAM, or -race) empties the bounding set of one thread
	// only: nothing to check on the others.
	cgo := cgoBinary(t, binary(t))
	if cgo {
		want = strings.Replace(want, "CapBnd: "+zero+" ", "", 1)
	}
	tasks, err := os.ReadDir(fmt.Sprintf("/proc/%d/task", pid))
	if err != nil || len(tasks) < 2 {
		t.Fatalf("threads of %d: got %d, %v; want several", pid, len(tasks), err)
	}
	for _, task := range tasks {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%s/status", pid, task.Name()))
		if err != nil {
			continue // ended meanwhile
		}
		var got []string
		for _, l := range strings.Split(string(b), "\n") {
			f := strings.Fields(l)
			if len(f) == 0 {
				continue
			}
			switch f[0] {
			case "CapBnd:":
				if !cgo {
					got = append(got, strings.Join(f, " "))
				}
			case "Uid:", "Gid:", "CapPrm:", "CapEff:", "CapAmb:", "NoNewPrivs:":
				got = append(got, strings.Join(f, " "))
			case "Groups:":
				slices.Sort(f[1:])
				got = append(got, strings.Join(f, " "))
			}
		}
		if g := strings.Join(got, " "); g != want {
			t.Errorf("thread %s of session process %d: got %q, want %q", task.Name(), pid, g, want)
		}
	}
	checkChildFDs(t, pid, filepath.Join(root, u.name), canary.Name())
	fds, _ := os.ReadDir(fmt.Sprintf("/proc/%d/fd", s.cmd.Process.Pid))
	for _, fd := range fds {
		l, _ := os.Readlink(fmt.Sprintf("/proc/%d/fd/%s", s.cmd.Process.Pid, fd.Name()))
		if strings.HasPrefix(l, root) {
			t.Errorf("the root parent holds %s open", l)
		}
	}
}

// checkChildFDs fails t if the connection child pid holds a descriptor
// other than its sockets, pipes, the runtime's anonymous inodes and cgroup
// CPU limit files (Go sizes GOMAXPROCS from those), /dev/null and the
// user's root (userRoot): canary, which the server inherited, above all.
func checkChildFDs(t *testing.T, pid int, userRoot, canary string) {
	t.Helper()
	dir := fmt.Sprintf("/proc/%d/fd", pid)
	fds, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var list []string
	for _, fd := range fds {
		l, err := os.Readlink(filepath.Join(dir, fd.Name()))
		if err != nil {
			continue // closed meanwhile
		}
		list = append(list, fd.Name()+" -> "+l)
		switch {
		case l == canary:
			t.Errorf("the connection child holds descriptor %s of the server's inherited %s", fd.Name(), l)
		case strings.HasPrefix(l, "socket:["), strings.HasPrefix(l, "pipe:["), strings.HasPrefix(l, "anon_inode:"),
			strings.HasPrefix(l, "/sys/fs/cgroup/"), l == "/dev/null", l == userRoot:
		default:
			t.Errorf("the connection child holds descriptor %s -> %s", fd.Name(), l)
		}
	}
	t.Logf("descriptors of the connection child: %s", strings.Join(list, ", "))
}

// cgoBinary reports whether the binary at p was built with cgo.
func cgoBinary(t *testing.T, p string) bool {
	t.Helper()
	bi, err := buildinfo.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range bi.Settings {
		if s.Key == "CGO_ENABLED" {
			return s.Value == "1"
		}
	}
	return false
}

// TestBinaryReplaced removes the server's binary while it runs, as an
// upgrade may: new connections still get a connection child of the
// running version.
func TestBinaryReplaced(t *testing.T) {
	needRoot(t)
	u := newUser(t, "")
	dir := openDir(t)
	bin := filepath.Join(dir, "simplecloud")
	b, err := os.ReadFile(binary(t))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bin, b, 0o755); err != nil {
		t.Fatal(err)
	}
	s := startServerBin(t, bin, openDir(t), filepath.Join(t.TempDir(), "hk"), nil)
	if err := os.Remove(bin); err != nil {
		t.Fatal(err)
	}
	if out, err := s.sftp(t, u.name, u.key, "ls\n"); err != nil {
		t.Errorf("login after the binary was removed: %v: %s", err, out)
	}
}
