//go:build conformance

package server_test

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"simplecloud/internal/testutil"
)

// suitesDir returns ../shared/suites beside the repository (or
// $SIMPLECLOUD_SUITES): the third-party suites, read-only.
func suitesDir(t *testing.T) string {
	t.Helper()
	dirs := []string{os.Getenv("SIMPLECLOUD_SUITES"), "../../../shared/suites", "../../shared/suites"}
	for _, d := range dirs {
		if d == "" {
			continue
		}
		if _, err := os.Stat(filepath.Join(d, "pjdfstest", "pjdfstest.c")); err == nil {
			abs, err := filepath.Abs(d)
			if err != nil {
				t.Fatal(err)
			}
			return abs
		}
	}
	t.Fatalf("the suites (pjdfstest, sshfs-tests) are not in %q; set SIMPLECLOUD_SUITES", dirs[1:])
	return ""
}

// newRootAlias makes a second account with uid 0 (useradd -o), its own home
// and a fresh key, and removes it at the end. Both servers let it in as
// root (ours with --permit-root-login, sshd with PermitRootLogin): the
// suites need root on the server, as they need it on the mount, and this
// leaves root's own ~/.ssh alone. It must never go through newUser's
// cleanup, whose pkill -u would hit every root process.
func newRootAlias(t *testing.T) *testUser {
	t.Helper()
	b := make([]byte, 4)
	rand.Read(b)
	name := "sct-r" + hex.EncodeToString(b)
	home := filepath.Join(t.TempDir(), "home")
	runLocking(t, "useradd", "-o", "-u", "0", "-g", "0", "-M", "-d", home, "-s", "/bin/sh", "-p", "*", name)
	t.Cleanup(func() {
		// -f: uid 0 always has processes running, which userdel
		// otherwise refuses to ignore. No -r: home is a TempDir.
		err := testutil.Poll(30*time.Second, func() error {
			out, err := exec.Command("userdel", "-f", name).CombinedOutput()
			if err != nil && strings.Contains(string(out), "cannot lock") {
				return fmt.Errorf("userdel -f %s: %v: %s", name, err, out)
			}
			if err != nil {
				t.Logf("userdel -f %s: %v: %s", name, err, out)
			}
			return nil
		})
		if err != nil {
			t.Error(err)
		}
	})
	u := &testUser{name: name, home: home, key: newKey(t)}
	u.authorize(t, "", u.key)
	return u
}

// startReference runs OpenSSH's sshd on a free port of 127.0.0.1 with its
// own config and host key, serving SFTP with OpenSSH's sftp-server for u
// alone, and returns the port. sftp-server rather than internal-sftp:
// it is the same code, and like ours it serves each session in a
// process of its own. Its umask is sshd's, 022, as ours is by default.
func startReference(t *testing.T, u *testUser) string {
	t.Helper()
	sshd, err := exec.LookPath("sshd")
	if err != nil {
		sshd = "/usr/sbin/sshd"
	}
	const sftpServer = "/usr/lib/openssh/sftp-server"
	if _, err := os.Stat(sftpServer); err != nil {
		t.Fatalf("OpenSSH's sftp-server: %v (Debian package openssh-sftp-server)", err)
	}
	dir := t.TempDir()
	hk := filepath.Join(dir, "host_key")
	run(t, "ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", hk)
	os.MkdirAll("/run/sshd", 0o755)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	_, port, _ := net.SplitHostPort(l.Addr().String())
	l.Close()
	cfg := fmt.Sprintf(`Port %s
ListenAddress 127.0.0.1
HostKey %s
PidFile none
UsePAM no
PasswordAuthentication no
KbdInteractiveAuthentication no
PubkeyAuthentication yes
PermitRootLogin prohibit-password
AuthorizedKeysFile .ssh/authorized_keys
Subsystem sftp %s
AllowUsers %s
`, port, hk, sftpServer, u.name)
	cf := filepath.Join(dir, "sshd_config")
	if err := os.WriteFile(cf, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(sshd, "-D", "-e", "-f", cf)
	logs := &syncBuffer{}
	cmd.Stderr = logs
	if err := cmd.Start(); err != nil {
		t.Fatalf("start sshd: %v", err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		if t.Failed() {
			t.Logf("sshd log:\n%s", logs.String())
		}
	})
	ref := &server{port: port, knownHosts: filepath.Join(dir, "known_hosts"), logs: logs}
	testutil.Eventually(t, 10*time.Second, func() error {
		if out, err := ref.sftp(t, u.name, u.key, "pwd\n"); err != nil {
			return fmt.Errorf("sshd not answering: %v: %s\n%s", err, out, logs.String())
		}
		return nil
	})
	return port
}

// writeSSHConfig writes the client config both suites reach a server
// with: the Host alias "localhost" (what sshfs's suite connects to) for
// 127.0.0.1:port as u. Both servers get the same one.
func writeSSHConfig(t *testing.T, dir, port string, u *testUser) string {
	t.Helper()
	cfg := fmt.Sprintf(`Host localhost
  HostName 127.0.0.1
  Port %s
  User %s
  IdentityFile %s
  IdentitiesOnly yes
  BatchMode yes
  StrictHostKeyChecking accept-new
  UserKnownHostsFile %s
  LogLevel ERROR
`, port, u.name, u.key, filepath.Join(dir, "known_hosts"))
	p := filepath.Join(dir, "ssh_config")
	if err := os.WriteFile(p, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// pjdfstestBuild returns a directory with pjdfstest built from src
// (autoreconf -ifs && ./configure && make in a copy), cached in
// ~/.cache/simplecloud/pjdfstest-HASH, HASH being that of the source tree,
// so that only a changed suite is built again.
func pjdfstestBuild(t *testing.T, src string) string {
	t.Helper()
	sum, err := treeHash(src)
	if err != nil {
		t.Fatal(err)
	}
	cache, err := os.UserCacheDir()
	if err != nil {
		t.Fatal(err)
	}
	parent := filepath.Join(cache, "simplecloud")
	dst := filepath.Join(parent, "pjdfstest-"+sum[:16])
	if _, err := os.Stat(filepath.Join(dst, "pjdfstest")); err == nil {
		t.Logf("pjdfstest: cached build %s", dst)
		return dst
	}
	if err := os.MkdirAll(parent, 0o755); err != nil {
		t.Fatal(err)
	}
	tmp, err := os.MkdirTemp(parent, "pjdfstest-build-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(tmp)
	if err := os.CopyFS(tmp, os.DirFS(src)); err != nil {
		t.Fatalf("copy pjdfstest: %v", err)
	}
	start := time.Now()
	build := exec.Command("sh", "-c", "autoreconf -ifs && ./configure && make")
	build.Dir = tmp
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build pjdfstest: %v\n%s", err, out)
	}
	os.Chmod(tmp, 0o755)
	if err := os.Rename(tmp, dst); err != nil && !isExist(err) {
		t.Fatal(err)
	}
	t.Logf("pjdfstest: built in %s into %s", time.Since(start).Round(time.Second), dst)
	return dst
}

// isExist reports whether err says a directory is there already (another
// run cached the same build first).
func isExist(err error) bool {
	return os.IsExist(err) || strings.Contains(err.Error(), "directory not empty")
}

// treeHash hashes the names, executable bits and contents of the files
// below dir.
func treeHash(dir string) (string, error) {
	h := sha256.New()
	err := fs.WalkDir(os.DirFS(dir), ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		fmt.Fprintf(h, "%s\x00%v\x00", p, info.Mode()&0o111 != 0)
		f, err := os.Open(filepath.Join(dir, p))
		if err != nil {
			return err
		}
		defer f.Close()
		_, err = io.Copy(h, f)
		return err
	})
	if err != nil {
		return "", fmt.Errorf("hash %s: %w", dir, err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
