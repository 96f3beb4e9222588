package holders

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
)

func TestFDList(t *testing.T) {
	dir := t.TempDir()
	fdDir := filepath.Join(dir, "fd")
	if err := os.Mkdir(fdDir, 0o755); err != nil {
		t.Fatal(err)
	}
	// Enough entries to need several getdents calls into the 8 KiB buffer.
	var want []int
	for i := 0; i < 2000; i += 3 {
		want = append(want, i)
		if err := os.Symlink("/dev/null", filepath.Join(fdDir, strconv.Itoa(i))); err != nil {
			t.Fatal(err)
		}
	}
	for _, name := range []string{"x", "1a", "12345678901"} {
		if err := os.Symlink("/dev/null", filepath.Join(fdDir, name)); err != nil {
			t.Fatal(err)
		}
	}
	dirfd, err := openDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer closeFD(dirfd)
	io := newFastIO()
	fd, got, err := io.fdList(dirfd)
	if err != nil {
		t.Fatal(err)
	}
	defer closeFD(fd)
	if !slices.Equal(got, want) {
		t.Errorf("got %d fds %v..., want %d fds %v...", len(got), got[:min(len(got), 5)], len(want), want[:5])
	}
	if l, err := io.readlinkAt(fd, "3"); err != nil || l != "/dev/null" {
		t.Errorf("readlink 3 relative to the fd directory: got %q, %v; want /dev/null", l, err)
	}
	if _, _, err := io.fdList(fd); err == nil {
		t.Error("fdList of a directory without fd/: got no error")
	}
}

func TestAtoiName(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int
		ok   bool
	}{
		{"0\x00", 0, true}, {"42\x00\x00", 42, true}, {"1023", 1023, true},
		{".\x00", 0, false}, {"..\x00", 0, false}, {"\x00", 0, false}, {"4x\x00", 0, false},
		{"9999999999\x00", 9999999999, true}, {"99999999999\x00", 0, false},
	} {
		got, ok := atoiName([]byte(tc.in))
		if got != tc.want || ok != tc.ok {
			t.Errorf("atoiName(%q): got %d, %v; want %d, %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}

func TestThreadCount(t *testing.T) {
	sleep := exec.Command("sleep", "100")
	if err := sleep.Start(); err != nil {
		t.Skip(err)
	}
	defer func() { sleep.Process.Kill(); sleep.Wait() }()
	io := newFastIO()
	for pid, want := range map[int]func(int) bool{
		sleep.Process.Pid: func(n int) bool { return n == 1 },
		os.Getpid():       func(n int) bool { return n > 1 }, // the Go runtime runs several threads
	} {
		dirfd, err := openDir("/proc/" + strconv.Itoa(pid))
		if err != nil {
			t.Fatal(err)
		}
		if n := io.threadCount(dirfd); !want(n) {
			t.Errorf("pid %d: got %d threads", pid, n)
		}
		closeFD(dirfd)
	}
}
