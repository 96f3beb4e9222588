package server_test

import (
	"bytes"
	"context"
	be "encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pkg/sftp"
	"golang.org/x/crypto/ssh"
)

// sftpInit is an SFTP client's first packet: SSH_FXP_INIT, version 3.
var sftpInit = []byte{0, 0, 0, 5, 1, 0, 0, 0, 3}

// isSFTPVersion reports whether out starts with an SFTP server's answer to
// sftpInit: SSH_FXP_VERSION, version 3.
func isSFTPVersion(out []byte) bool {
	return len(out) >= 9 && out[4] == 2 && be.BigEndian.Uint32(out[5:9]) == 3
}

// sftpHello runs ssh as u with the remote arguments, sends sftpInit and
// returns the first bytes of the answer. It keeps its side open until the
// answer is in: a server may drop what it has not sent yet once its input
// ends, as OpenSSH's sftp-server does.
func sftpHello(t *testing.T, s *server, u *testUser, remote ...string) ([]byte, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "ssh", append(append(s.sshArgs(u.key, "-p"), u.name+"@127.0.0.1"), remote...)...)
	in, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	in.Write(sftpInit)
	buf := make([]byte, 9)
	n, rerr := io.ReadFull(out, buf)
	in.Close()
	werr := cmd.Wait()
	if rerr != nil {
		return buf[:n], fmt.Errorf("read the answer: %w (ssh: %v, stderr %q)", rerr, werr, stderr.String())
	}
	return buf, werr
}

// TestForcedInternalSFTP logs in with keys confined to sftp by
// restrict,command="internal-sftp", as OpenSSH users write it: sftp works,
// and a command, a shell or another subsystem (the sync subsystem to come
// included) gets the sftp server too, not the refusal a plain key gets. A
// key with any other command= is refused, and the log says why.
func TestForcedInternalSFTP(t *testing.T) {
	needRoot(t)
	forced := newUser(t, `restrict,command="internal-sftp"`)
	plain := newUser(t, "")
	date := newUser(t, `command="/bin/date"`)
	withArgs := newUser(t, `restrict,command="internal-sftp -R"`)
	s := startServer(t, openDir(t), filepath.Join(t.TempDir(), "hk"), nil)

	if out := s.mustSFTP(t, forced.name, forced.key, "mkdir d\nls\n"); !strings.Contains(out, "d") {
		t.Errorf("sftp with the forced key: got %q, want d listed", out)
	}
	s.waitLog(t, "command=internal-sftp")

	for _, remote := range [][]string{{"somecommand", "--arg"}, {"-s", "simplecloud-sync"}, {"-s", "nosuchsubsystem"}, {"-T"}} {
		out, err := sftpHello(t, s, forced, remote...)
		if err != nil || !isSFTPVersion(out) {
			t.Errorf("ssh %q with the forced key: got %v, %q; want the sftp server's version packet", remote, err, out)
		}
	}
	for _, want := range []string{"request=exec", "request=subsystem subsystem=simplecloud-sync", "request=shell"} {
		s.waitLog(t, want+" command=internal-sftp")
	}

	// Without the forced command the same requests are refused.
	if out, err := s.ssh(t, plain.name, plain.key, "somecommand"); err == nil || !strings.Contains(out, "offers only the sftp subsystem") {
		t.Errorf("ssh somecommand with a plain key: got %v: %q, want the refusal", err, out)
	}

	for _, u := range []struct {
		user *testUser
		log  string
	}{
		{date, `command=\"/bin/date\" is not supported: only command=\"internal-sftp\"`},
		{withArgs, `command=\"internal-sftp -R\" is not supported: only command=\"internal-sftp\"`},
	} {
		if out, err := s.sftp(t, u.user.name, u.user.key, "ls\n"); err == nil || !strings.Contains(out, "Permission denied") {
			t.Errorf("sftp with a key with another command=: got %v: %s, want Permission denied", err, out)
		}
		s.waitLog(t, u.log)
	}
}

// dialUser connects to s as u with u's key, through x/crypto's client.
func dialUser(t *testing.T, s *server, u *testUser) *ssh.Client {
	t.Helper()
	pem, err := os.ReadFile(u.key)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := ssh.ParsePrivateKey(pem)
	if err != nil {
		t.Fatal(err)
	}
	c, err := ssh.Dial("tcp", "127.0.0.1:"+s.port, &ssh.ClientConfig{
		User: u.name, Auth: []ssh.AuthMethod{ssh.PublicKeys(signer)},
		HostKeyCallback: ssh.InsecureIgnoreHostKey(),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// TestSFTPHandleLimit holds files open in one sftp session of a server
// with max_sftp_handles = 4: the fifth open (file or directory) fails with
// the limit named, closing one lets the next open succeed, another session
// has handles of its own, and the refusal is logged once per session.
func TestSFTPHandleLimit(t *testing.T) {
	needRoot(t)
	u := newUser(t, "")
	conf := filepath.Join(t.TempDir(), "serve.toml")
	if err := os.WriteFile(conf, []byte("max_sftp_handles = 4\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	s := startServer(t, openDir(t), filepath.Join(t.TempDir(), "hk"), nil, "--config", conf)
	conn := dialUser(t, s, u)
	c, err := sftp.NewClient(conn)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var files []*sftp.File
	for i := range 4 {
		f, err := c.Create(fmt.Sprintf("f%d", i))
		if err != nil {
			t.Fatalf("open %d of 4: %v", i+1, err)
		}
		files = append(files, f)
	}
	tooMany := func(what string, err error) {
		t.Helper()
		var se *sftp.StatusError
		if !errors.As(err, &se) || se.FxCode() != sftp.ErrSSHFxFailure || !strings.Contains(se.Error(), "too many open handles (limit 4)") {
			t.Errorf("%s past the limit: got %v, want SSH_FX_FAILURE: too many open handles (limit 4)", what, err)
		}
	}
	_, err = c.Open("f0")
	tooMany("open", err)
	_, err = c.ReadDir("/")
	tooMany("opendir", err)
	// Calls without a handle go on.
	if _, err := c.Stat("f0"); err != nil {
		t.Errorf("stat at the limit: %v", err)
	}
	// Another session of the same connection has handles of its own.
	c2, err := sftp.NewClient(conn)
	if err != nil {
		t.Fatal(err)
	}
	if ents, err := c2.ReadDir("/"); err != nil || len(ents) != 4 {
		t.Errorf("opendir in another session: got %d entries, %v; want 4", len(ents), err)
	}
	c2.Close()
	if err := files[0].Close(); err != nil {
		t.Fatal(err)
	}
	f, err := c.Open("f1")
	if err != nil {
		t.Fatalf("open after a close: %v", err)
	}
	_, err = c.Create("f4")
	tooMany("create", err)
	f.Close()
	if ents, err := c.ReadDir("/"); err != nil || len(ents) != 4 {
		t.Errorf("opendir after a close: got %d entries, %v; want 4", len(ents), err)
	}
	for _, f := range files[1:] {
		f.Close()
	}
	if n := strings.Count(s.logs.String(), `msg="sftp open refused"`); n != 1 {
		t.Errorf("got %d log lines of refused opens, want 1 per session", n)
	}
	s.waitLog(t, "reason=\"too many open handles\" limit=4")
}
