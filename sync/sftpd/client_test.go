package sftpd

import (
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"simplecloud/sync/rootfs"
)

// rootEnv names the directory the test binary serves on stdin and stdout
// when OpenSSH's sftp starts it with -D.
const rootEnv = "SFTPD_TEST_ROOT"

// TestMain serves one session on stdin and stdout instead of running the
// tests when rootEnv is set: that is the test binary as sftp's -D server.
func TestMain(m *testing.M) {
	if dir := os.Getenv(rootEnv); dir != "" {
		os.Exit(serveStdio(dir))
	}
	os.Exit(m.Run())
}

// stdio is stdin and stdout as one stream.
type stdio struct{}

func (stdio) Read(p []byte) (int, error)  { return os.Stdin.Read(p) }
func (stdio) Write(p []byte) (int, error) { return os.Stdout.Write(p) }

func serveStdio(dir string) int {
	root, err := rootfs.Open(dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	if err := Serve(stdio{}, root, Options{Umask: 0o022}, log); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

// sftpBatch runs OpenSSH's sftp in batch mode against this package serving
// dir, started by sftp itself (-D), with no SSH in between.
func sftpBatch(t *testing.T, dir, batch string) (string, error) {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	bf := filepath.Join(t.TempDir(), "batch")
	os.WriteFile(bf, []byte(batch), 0o600)
	cmd := exec.Command("sftp", "-b", bf, "-D", self)
	cmd.Env = append(os.Environ(), rootEnv+"="+dir)
	cmd.Dir = t.TempDir()
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// TestOpenSSHClient drives OpenSSH's sftp through the commands that use
// each extension it knows: rename (posix-rename), df (statvfs), ln
// (hardlink), ln -s, cp (copy-data), put -f (fsync), ls -l
// (users-groups-by-id), chmod -h (lsetstat). This client (9.2) sends
// expand-path for none of its batch commands: ~ is expanded locally to
// the remote working directory even against OpenSSH's sftp-server, so
// TestExtensions alone covers expand-path.
func TestOpenSSHClient(t *testing.T) {
	if _, err := exec.LookPath("sftp"); err != nil {
		t.Skip("needs OpenSSH's sftp")
	}
	dir, local := t.TempDir(), t.TempDir()
	src := filepath.Join(local, "src")
	data := strings.Repeat("SimpleCloud sftpd ", 100_000) // 1.8 MB: several pipelined reads and writes
	os.WriteFile(src, []byte(data), 0o640)
	os.WriteFile(filepath.Join(dir, "exist"), []byte("old"), 0o644)
	batch := fmt.Sprintf(`put -f %s a
rename a b
rename b exist
ln exist hard
ln -s /abs/target sym
cp exist c
mkdir d
cd d
pwd
cd /
chmod -h 600 c
get c %s/back
ls -la
df -h
rm hard
`, src, local)
	out, err := sftpBatch(t, dir, batch)
	if err != nil {
		t.Fatalf("sftp: %v\n%s", err, out)
	}
	for name, want := range map[string]string{"exist": data, "c": data} {
		if b, err := os.ReadFile(filepath.Join(dir, name)); err != nil || string(b) != want {
			t.Errorf("%s on the server: got %d bytes, %v; want %d", name, len(b), err, len(want))
		}
	}
	if b, _ := os.ReadFile(filepath.Join(local, "back")); string(b) != data {
		t.Errorf("get: got %d bytes, want %d", len(b), len(data))
	}
	for _, gone := range []string{"a", "b", "hard"} {
		if _, err := os.Stat(filepath.Join(dir, gone)); !os.IsNotExist(err) {
			t.Errorf("%s after rename and rm: got %v, want it gone", gone, err)
		}
	}
	if l, _ := os.Readlink(filepath.Join(dir, "sym")); l != "/abs/target" {
		t.Errorf("ln -s: got target %q, want /abs/target", l)
	}
	if fi, _ := os.Stat(filepath.Join(dir, "c")); fi == nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("chmod -h: got %v, want mode 0600", fi)
	}
	for _, want := range []string{
		"Remote working directory: /d",
		"Size", "Avail", // df's header: statvfs answered
		" root ", // ls -l with names: users-groups-by-id
	} {
		if !strings.Contains(out, want) {
			t.Errorf("sftp output lacks %q:\n%s", want, out)
		}
	}
}
