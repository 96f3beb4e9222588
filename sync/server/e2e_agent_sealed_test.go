package server_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"simplecloud/internal/testutil"
)

// TestClientAgentEncrypted runs `simplecloud client run` with an encrypted
// sync folder (encrypt = true in client.toml, added with client add
// --encrypt) on the real server over the real OpenSSH client: a file goes
// up sealed, one written on the server by another client of the same key
// comes down in plaintext, and status shows the folder as encrypted with
// its key.
func TestClientAgentEncrypted(t *testing.T) {
	needRoot(t, "ssh", "useradd")
	u := newUser(t, "")
	root := openDir(t)
	s := startServer(t, root, filepath.Join(t.TempDir(), "hk"), nil)
	base, err := os.MkdirTemp("", "agent-") // short: ssh's control socket path
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(base) })
	e := &agentEnv{t: t, env: []string{"XDG_CONFIG_HOME=" + base + "/cfg", "XDG_STATE_HOME=" + base + "/state",
		"XDG_RUNTIME_DIR=" + base + "/run"}}
	os.Mkdir(base+"/run", 0o700)
	id := strings.TrimSpace(e.run("key", "new"))
	id = strings.Fields(id)[0]
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
	secret := filepath.Join(base, "secret")
	e.run("client", "add", secret, u.name+"@127.0.0.1:Secret", "--encrypt", "-p", port, "-i", u.key, "-e", "ssh "+strings.Join(opts, " "))
	if b, _ := os.ReadFile(base + "/cfg/simplecloud/client.toml"); !bytes.Contains(b, []byte("encrypt = true")) {
		t.Fatalf("client.toml:\n%s", b)
	}
	os.MkdirAll(secret, 0o755)
	os.WriteFile(filepath.Join(secret, "diary-entry.txt"), []byte("dear diary, PLAINTEXT-CANARY-99"), 0o644)

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
		if t.Failed() {
			t.Logf("client run's log:\n%s", stderr.String())
		}
	}()
	start := time.Now()
	e.waitState("secret", "idle")
	t.Logf("idle after %v", time.Since(start))

	// Up: sealed on the server, no plaintext name or content.
	server := filepath.Join(root, u.name, "Secret")
	testutil.Eventually(t, 30*time.Second, func() error {
		es, err := os.ReadDir(server)
		if err != nil {
			return err
		}
		var names []string
		for _, de := range es {
			names = append(names, de.Name())
		}
		if len(es) != 2 || !strings.Contains(strings.Join(names, " "), "SIMPLECLOUD-KEY") {
			return fmt.Errorf("the server's folder holds %q, want the key marker and one sealed file", names)
		}
		for _, n := range names {
			b, _ := os.ReadFile(filepath.Join(server, n))
			if strings.Contains(n, "diary") || bytes.Contains(b, []byte("PLAINTEXT-CANARY")) {
				return fmt.Errorf("plaintext on the server: %s", n)
			}
		}
		return nil
	})

	// Down: another client of the same key (simplecloud sync --key, with
	// the exported key) adds a file; the running client brings it.
	other := newSealedClient(t)
	export := filepath.Join(t.TempDir(), "k")
	e.run("key", "export", id, "-o", export)
	if out, err := other.sc(t, nil, "key", "import", export); err != nil {
		t.Fatalf("key import: %v\n%s", err, out)
	}
	other.key = id
	os.MkdirAll(other.local, 0o755)
	os.WriteFile(filepath.Join(other.local, "from-the-laptop.txt"), []byte("written elsewhere"), 0o644)
	if sum, out, code := other.sync(t, s, u, "Secret"); code != 0 || sum.Uploaded != 1 || sum.Downloaded != 1 {
		t.Fatalf("the other client: %+v exit %d\n%s", sum, code, out)
	}
	t.Logf("other client synced after %v", time.Since(start))
	testutil.Eventually(t, 30*time.Second, func() error {
		b, err := os.ReadFile(filepath.Join(secret, "from-the-laptop.txt"))
		if err != nil || string(b) != "written elsewhere" {
			return fmt.Errorf("the running client has %q (%v)", b, err)
		}
		return nil
	})

	t.Logf("pushed to the running client after %v", time.Since(start))
	// Status: the folder is encrypted, with its key.
	var st struct {
		Folders []struct {
			Name, State, Key string
			Encrypted        bool
		}
	}
	if err := json.Unmarshal([]byte(e.run("status", "--json")), &st); err != nil {
		t.Fatal(err)
	}
	if len(st.Folders) != 1 || !st.Folders[0].Encrypted || st.Folders[0].Key != id {
		t.Errorf("status --json: %+v, want the folder encrypted with key %s", st.Folders, id)
	}
	t.Logf("status after %v", time.Since(start))
	if out := e.run("status"); !strings.Contains(out, "encrypted with key "+id) {
		t.Errorf("status:\n%s\nwant the folder shown as encrypted with key %s", out, id)
	}

	stopping := time.Now()
	agent.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-exited:
		if err != nil {
			t.Errorf("client run after SIGTERM: %v", err)
		}
		t.Logf("exited %v after SIGTERM", time.Since(stopping))
	case <-time.After(60 * time.Second):
		t.Fatal("client run did not exit after SIGTERM")
	}
}
