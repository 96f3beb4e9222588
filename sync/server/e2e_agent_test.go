package server_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"simplecloud/internal/testutil"
)

// agentEnv runs the real binary with the client's configuration, state and
// runtime directories of one test.
type agentEnv struct {
	t   *testing.T
	env []string
}

func (e *agentEnv) cmd(args ...string) *exec.Cmd {
	c := exec.Command(binary(e.t), args...)
	c.Env = append(os.Environ(), e.env...)
	return c
}

func (e *agentEnv) run(args ...string) string {
	e.t.Helper()
	out, err := e.cmd(args...).CombinedOutput()
	if err != nil {
		e.t.Fatalf("simplecloud %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// agentStatus is `simplecloud status --json`'s output.
type agentStatus struct {
	Running bool
	Folders []struct {
		Name, Mode, State, Error string
		Nodes                    []struct {
			ID, Name string
			This     bool
		}
	}
}

func (e *agentEnv) status() agentStatus {
	e.t.Helper()
	var s agentStatus
	if err := json.Unmarshal([]byte(e.run("status", "--json")), &s); err != nil {
		e.t.Fatal(err)
	}
	return s
}

// waitState polls status until folder name is in state.
func (e *agentEnv) waitState(name, state string) {
	e.t.Helper()
	testutil.Eventually(e.t, 60*time.Second, func() error {
		for _, f := range e.status().Folders {
			if f.Name == name {
				if f.State != state {
					return fmt.Errorf("%s is %s (%s), want %s", name, f.State, f.Error, state)
				}
				return nil
			}
		}
		return fmt.Errorf("%s not in the status", name)
	})
}

// TestClientAgent runs `simplecloud client run` with a sync folder and a
// stream folder of one user on the real server, over the real OpenSSH
// client: both come up sharing one SSH connection, files go both ways,
// pause and resume take effect while it runs, a killed sshfs is mounted
// again, and SIGTERM unmounts and exits 0.
func TestClientAgent(t *testing.T) {
	needRoot(t, "ssh", "useradd", "sshfs")
	u := newUser(t, "")
	root := openDir(t)
	s := startServer(t, root, filepath.Join(t.TempDir(), "hk"), nil)
	home := filepath.Join(root, u.name)
	for _, d := range []string{home, filepath.Join(home, "Music")} {
		os.MkdirAll(d, 0o755)
		os.Chown(d, u.uid, u.gid)
	}
	os.WriteFile(filepath.Join(home, "Music", "song.txt"), []byte("la la"), 0o644)
	os.Chown(filepath.Join(home, "Music", "song.txt"), u.uid, u.gid)

	base, err := os.MkdirTemp("", "agent-") // short: ssh's control socket path
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(base) })
	e := &agentEnv{t: t, env: []string{"XDG_CONFIG_HOME=" + base + "/cfg", "XDG_STATE_HOME=" + base + "/state",
		"XDG_RUNTIME_DIR=" + base + "/run"}}
	os.Mkdir(base+"/run", 0o700)
	docs, music := filepath.Join(base, "docs"), filepath.Join(base, "music")
	// ssh's options but -p PORT and -i KEY, which go as the folders' own.
	var opts []string
	port := ""
	for args, i := s.sshArgs(u.key, "-p"), 0; i < len(args); i++ {
		switch args[i] {
		case "-p":
			port, i = args[i+1], i+1
		case "-i":
			i++
		default:
			opts = append(opts, args[i])
		}
	}
	rsh := "ssh " + strings.Join(opts, " ")
	e.run("client", "add", docs, u.name+"@127.0.0.1:Docs", "-p", port, "-i", u.key, "-e", rsh)
	e.run("client", "add", music, u.name+"@127.0.0.1:Music", "--mode", "stream", "-p", port, "-i", u.key, "-e", rsh)
	if s := e.status(); s.Running || len(s.Folders) != 2 || s.Folders[0].State != "stopped" {
		t.Fatalf("before run: got %+v, want two stopped folders", s)
	}

	var stderr bytes.Buffer
	agent := e.cmd("--log-level", "info", "client", "run")
	agent.Stderr = &stderr
	if err := agent.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- agent.Wait() }()
	defer func() {
		agent.Process.Kill()
		exec.Command("fusermount", "-u", "-z", music).Run()
		if t.Failed() {
			t.Logf("client run's log:\n%s", stderr.String())
		}
	}()
	e.waitState("docs", "idle")
	e.waitState("music", "mounted")

	// Both ways, and through the mount.
	os.WriteFile(filepath.Join(docs, "up.txt"), []byte("from the client"), 0o644)
	waitContent(t, filepath.Join(home, "Docs", "up.txt"), "from the client")
	in := filepath.Join(home, ".incoming")
	os.WriteFile(in, []byte("from the server"), 0o644)
	os.Chown(in, u.uid, u.gid)
	os.Rename(in, filepath.Join(home, "Docs", "down.txt"))
	waitContent(t, filepath.Join(docs, "down.txt"), "from the server")
	if b, err := os.ReadFile(filepath.Join(music, "song.txt")); err != nil || string(b) != "la la" {
		t.Errorf("song.txt through the stream mount: %q, %v", b, err)
	}

	// This machine is in the server's node records of Docs, and in status.
	if st := e.status(); len(st.Folders[0].Nodes) != 1 || !st.Folders[0].Nodes[0].This {
		t.Errorf("docs' nodes: got %+v, want this machine", st.Folders[0].Nodes)
	} else if _, err := os.Stat(filepath.Join(home, ".simplecloud", "nodes", st.Folders[0].Nodes[0].ID+".json")); err != nil {
		t.Errorf("node record on the server: %v", err)
	}

	// One SSH connection to the server for both folders.
	if out, err := exec.Command("ss", "-Htn", "state", "established", "( dport = :"+port+" )").Output(); err != nil {
		t.Logf("ss not run (%v): connection sharing not checked", err)
	} else if n := strings.Count(strings.TrimSpace(string(out)), "\n") + 1; strings.TrimSpace(string(out)) == "" || n != 1 {
		t.Errorf("got %d SSH connections to the server, want 1 shared by both folders:\n%s", n, out)
	}

	// Pause: a new file stays local; resume: it goes up.
	e.run("client", "pause", "docs")
	e.waitState("docs", "paused")
	os.WriteFile(filepath.Join(docs, "later.txt"), []byte("after the pause"), 0o644)
	time.Sleep(2 * time.Second) // a paused folder must not sync in this time: absence can only be waited out
	if _, err := os.Stat(filepath.Join(home, "Docs", "later.txt")); err == nil {
		t.Error("a paused folder synced later.txt")
	}
	e.run("client", "resume", docs)
	waitContent(t, filepath.Join(home, "Docs", "later.txt"), "after the pause")

	// sshfs killed: mounted again.
	if err := exec.Command("pkill", "-KILL", "-f", "sshfs .*"+music).Run(); err != nil {
		t.Fatalf("pkill sshfs: %v", err)
	}
	testutil.Eventually(t, 60*time.Second, func() error {
		b, err := os.ReadFile(filepath.Join(music, "song.txt"))
		if err != nil || string(b) != "la la" {
			return fmt.Errorf("song.txt after sshfs was killed: %q, %v", b, err)
		}
		return nil
	})
	e.waitState("music", "mounted")

	// SIGTERM: exit 0, unmounted, status says stopped.
	agent.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-exited:
		if err != nil {
			t.Errorf("client run after SIGTERM: %v", err)
		}
	case <-time.After(60 * time.Second):
		t.Fatal("client run did not exit after SIGTERM")
	}
	if mi, _ := os.ReadFile("/proc/self/mountinfo"); strings.Contains(string(mi), " "+music+" ") {
		t.Errorf("%s is still mounted after the client stopped", music)
	}
	if s := e.status(); s.Running {
		t.Errorf("status after SIGTERM: %+v, want not running", s)
	}
}

// waitContent polls until p holds exactly content.
func waitContent(t *testing.T, p, content string) {
	t.Helper()
	testutil.Eventually(t, 60*time.Second, func() error {
		b, err := os.ReadFile(p)
		if err != nil || string(b) != content {
			return fmt.Errorf("%s: %q, %v; want %q", p, b, err, content)
		}
		return nil
	})
}
