package server

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/pkg/sftp"
	"golang.org/x/crypto/ssh"

	"simplecloud/internal/testutil"
)

func TestTaskStatusIs(t *testing.T) {
	const zero = "0000000000000000"
	good := taskStatus{uids: []uint32{7, 7, 7, 7}, gids: []uint32{8, 8, 8, 8}, groups: []uint32{9, 8},
		capPrm: zero, capEff: zero, capAmb: zero, capBnd: zero, noNewPrivs: "1"}
	bad := func(f func(*taskStatus)) taskStatus {
		st := good
		f(&st)
		return st
	}
	cases := []struct {
		name       string
		st         taskStatus
		noBounding bool
		ok         bool
	}{
		{"all the user's", good, true, true},
		{"saved uid root", bad(func(s *taskStatus) { s.uids = []uint32{7, 7, 0, 7} }), true, false},
		{"fs uid root", bad(func(s *taskStatus) { s.uids = []uint32{7, 7, 7, 0} }), true, false},
		{"gid root", bad(func(s *taskStatus) { s.gids = []uint32{0, 8, 8, 8} }), true, false},
		{"extra group", bad(func(s *taskStatus) { s.groups = []uint32{9, 8, 0} }), true, false},
		{"missing group", bad(func(s *taskStatus) { s.groups = []uint32{8} }), true, false},
		{"capability left", bad(func(s *taskStatus) { s.capEff = "0000000000000400" }), true, false},
		{"ambient capability", bad(func(s *taskStatus) { s.capAmb = "0000000000000400" }), true, false},
		{"no_new_privs off", bad(func(s *taskStatus) { s.noNewPrivs = "0" }), true, false},
		{"no_new_privs off, cgo build", bad(func(s *taskStatus) { s.noNewPrivs = "0" }), false, false},
		{"bounding set left", bad(func(s *taskStatus) { s.capBnd = "000001ffffffffff" }), true, false},
		{"bounding set left, cgo build", bad(func(s *taskStatus) { s.capBnd = "000001ffffffffff" }), false, true},
		{"no uid line", bad(func(s *taskStatus) { s.uids = nil }), true, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.st.is(7, 8, []uint32{8, 9}, tc.noBounding)
			if (err == nil) != tc.ok {
				t.Errorf("got %v, want ok=%v", err, tc.ok)
			}
		})
	}
}

// TestCheckThreadsSeesRoot checks that checkThreads fails on this process's
// own threads when they do not have the ids asked for.
func TestCheckThreadsSeesRoot(t *testing.T) {
	err := checkThreads("/proc/self/task", uint32(os.Getuid())+1, uint32(os.Getgid()), nil, true)
	if err == nil || !strings.Contains(err.Error(), "uids") {
		t.Errorf("checkThreads with another uid: got %v, want an error naming the uids", err)
	}
}

// dropHelperEnv makes TestDropHelper act: "UID:GID:GROUP,GROUP".
const dropHelperEnv = "SIMPLECLOUD_TEST_DROP"

// TestConnChildDrop runs a connection child (ServeConn, in a process of its
// own: it changes that process's ids for good) with an SSH client over a
// pipe. With a user the kernel accepts, the session is served and every
// thread of the process has the user's ids; with a uid the kernel refuses,
// the connection is refused after authentication and no session is served.
func TestConnChildDrop(t *testing.T) {
	testutil.NeedRoot(t)
	run := func(ids string) string {
		// The helper cannot clean up after itself once it is the user.
		dir := t.TempDir()
		os.Chmod(filepath.Dir(dir), 0o755)
		os.Chmod(dir, 0o755)
		cmd := exec.Command(os.Args[0], "-test.run=^TestDropHelper$", "-test.v")
		cmd.Env = append(os.Environ(), dropHelperEnv+"="+ids, dropHelperEnv+"_DIR="+dir)
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		// Started as the server starts a connection child: it inherits
		// no_new_privs, which the drop checks on every thread.
		if err := startConfined(cmd); err != nil {
			t.Fatal(err)
		}
		cmd.Wait()
		return out.String()
	}
	out := run("65534:65534:65534,100")
	if !strings.Contains(out, "SESSION served") {
		t.Fatalf("good user: no session served:\n%s", out)
	}
	if !strings.Contains(out, "list /private: permission denied") {
		t.Errorf("good user listing root's 0700 directory: want permission denied:\n%s", out)
	}
	// The test binary is a cgo build when cgo is enabled (the net package
	// uses it): then the bounding set is dropped on one thread only.
	want := "Uid: 65534 65534 65534 65534 Gid: 65534 65534 65534 65534 Groups: 100 65534 CapPrm: 0000000000000000 CapEff: 0000000000000000"
	if !cgoBuild {
		want += " CapBnd: 0000000000000000"
	}
	want += " CapAmb: 0000000000000000 NoNewPrivs: 1"
	threads := 0
	for _, l := range strings.Split(out, "\n") {
		if f := strings.Fields(l); len(f) > 0 && f[0] == "THREAD" {
			threads++
			if got := strings.Join(f[2:], " "); got != want {
				t.Errorf("thread %s: got %q, want %q", f[1], got, want)
			}
		}
	}
	if threads < 2 {
		t.Errorf("good user: got %d threads checked, want several:\n%s", threads, out)
	}
	t.Logf("good user:\n%s", out)
	out = run("4294967295:65534:65534") // setuid(-1) fails with EINVAL
	t.Logf("uid the kernel refuses:\n%s", out)
	if !strings.Contains(out, "REFUSED") || !strings.Contains(out, "setuid") || strings.Contains(out, "SESSION served") {
		t.Errorf("uid the kernel refuses: want the connection refused after setuid failed:\n%s", out)
	}
}

// TestDropHelper is TestConnChildDrop's child process.
func TestDropHelper(t *testing.T) {
	spec := os.Getenv(dropHelperEnv)
	if spec == "" {
		t.Skip("helper of TestConnChildDrop")
	}
	f := strings.Split(spec, ":")
	uid, _ := strconv.ParseUint(f[0], 10, 32)
	gid, _ := strconv.ParseUint(f[1], 10, 32)
	dir := os.Getenv(dropHelperEnv + "_DIR")
	acct := Account{Name: "alice", UID: uint32(uid), GID: uint32(gid), Home: filepath.Join(dir, "home")}
	os.Mkdir(acct.Home, 0o700)
	for _, g := range strings.Split(f[2], ",") {
		n, _ := strconv.ParseUint(g, 10, 32)
		acct.Groups = append(acct.Groups, uint32(n))
	}
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	signer, _ := ssh.NewSignerFromKey(priv)
	sshPub, _ := ssh.NewPublicKey(pub)
	os.Mkdir(filepath.Join(acct.Home, ".ssh"), 0o700)
	os.WriteFile(filepath.Join(acct.Home, ".ssh", "authorized_keys"), ssh.MarshalAuthorizedKey(sshPub), 0o600)
	for _, p := range []string{"", ".ssh", ".ssh/authorized_keys"} {
		os.Chown(filepath.Join(acct.Home, p), int(int32(acct.UID)), int(acct.GID))
	}
	os.Mkdir(filepath.Join(acct.Home, "private"), 0o700) // root's
	keys, err := LoadHostKeys(filepath.Join(dir, "hk"))
	if err != nil {
		t.Fatal(err)
	}
	// No PAM: alice is no system user.
	setup, _ := json.Marshal(connSetup{Config: Config{UsePAM: new(false)}.Defaults(),
		HostKeys: []string{string(ssh.MarshalAuthorizedKey(keys[0].Signer.PublicKey()))}})
	// Not net.Pipe: both sides of SSH write their version first.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cliConn, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	srvConn, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	ctl, parent := net.Pipe()
	go func() { // the parent's side: read the reports
		b := make([]byte, 1)
		for {
			if _, err := parent.Read(b); err != nil {
				return
			}
		}
	}()
	sign, parentSign := net.Pipe()
	go serveSigns(parentSign, []ssh.Signer{keys[0].Signer}) // the parent's side: sign
	served := make(chan error, 1)
	go func() {
		served <- ServeConn(srvConn, ctl, sign, nil, bytes.NewReader(setup), fakeAccounts{acct}, slog.New(slog.NewTextHandler(os.Stderr, nil)))
	}()
	cc, chans, reqs, err := ssh.NewClientConn(cliConn, ln.Addr().String(), &ssh.ClientConfig{
		User: "alice", Auth: []ssh.AuthMethod{ssh.PublicKeys(signer)}, HostKeyCallback: ssh.InsecureIgnoreHostKey(),
	})
	if err != nil {
		t.Fatalf("client handshake: %v", err)
	}
	client := ssh.NewClient(cc, chans, reqs)
	if s, err := sftpSession(client); err != nil {
		fmt.Printf("REFUSED session: %v; server: %v\n", err, <-served)
		return
	} else {
		fmt.Println("SESSION served:", s)
	}
	tasks, _ := os.ReadDir("/proc/self/task")
	for _, task := range tasks {
		b, _ := os.ReadFile(filepath.Join("/proc/self/task", task.Name(), "status"))
		var ids []string
		for _, l := range strings.Split(string(b), "\n") {
			switch k, _, _ := strings.Cut(l, ":"); k {
			case "CapBnd":
				if cgoBuild {
					continue
				}
				fallthrough
			case "Uid", "Gid", "Groups", "CapPrm", "CapEff", "CapAmb", "NoNewPrivs":
				ids = append(ids, strings.Join(strings.Fields(l), " "))
			}
		}
		fmt.Println("THREAD", task.Name(), strings.Join(ids, " "))
	}
	client.Close()
}

// sftpSession opens an SFTP session on client and lists "/private", which
// belongs to root (mode 0700): the kernel must refuse the user.
func sftpSession(client *ssh.Client) (string, error) {
	c, err := sftp.NewClient(client)
	if err != nil {
		return "", err
	}
	defer c.Close()
	wd, err := c.Getwd()
	if err != nil {
		return "", err
	}
	_, err = c.ReadDir("/private")
	return fmt.Sprintf("cwd %s, list /private: %v", wd, err), nil
}
