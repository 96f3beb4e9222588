package server_test

import (
	"bytes"
	"context"
	be "encoding/binary"
	"fmt"
	"io"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
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
