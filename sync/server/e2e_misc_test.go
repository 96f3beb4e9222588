package server_test

import (
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
// that serves it: every thread has the user's uid, gid and groups and no
// capability left, while the root parent holds nothing under the data root.
func TestConnChildIsUser(t *testing.T) {
	needRoot(t)
	u := newUser(t, "")
	root := openDir(t)
	s := startServer(t, root, filepath.Join(t.TempDir(), "hk"), nil)
	cmd := exec.Command("sftp", append(s.sshArgs(u.key, "-P"), "-b", "-", u.name+"@127.0.0.1")...)
	in, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Wait()
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
	want := fmt.Sprintf("Uid: %d %d %d %d Gid: %d %d %d %d Groups: %s CapPrm: 0000000000000000 CapEff: 0000000000000000",
		u.uid, u.uid, u.uid, u.uid, u.gid, u.gid, u.gid, u.gid, strings.Join(groups, " "))
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
			case "Uid:", "Gid:", "CapPrm:", "CapEff:":
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
	fds, _ := os.ReadDir(fmt.Sprintf("/proc/%d/fd", s.cmd.Process.Pid))
	for _, fd := range fds {
		l, _ := os.Readlink(fmt.Sprintf("/proc/%d/fd/%s", s.cmd.Process.Pid, fd.Name()))
		if strings.HasPrefix(l, root) {
			t.Errorf("the root parent holds %s open", l)
		}
	}
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
