package holders

import (
	"bytes"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"simplecloud/disk/holders/internal/kscan"
)

func TestMatchesComm(t *testing.T) {
	for _, c := range []struct {
		argv0, comm string
		want        bool
	}{
		{"sleep", "sleep", true}, {"/usr/bin/sleep", "sleep", true}, {"-bash", "bash", false},
		{"sleep", "sl", false}, {"/opt/a-very-long-program-name", "a-very-long-pro", true},
		{"/opt/a-very-long-other-name", "a-very-long-pro", false}, {"", "sleep", false},
	} {
		if got := matchesComm(c.argv0, c.comm); got != c.want {
			t.Errorf("matchesComm(%q, %q) = %v, want %v", c.argv0, c.comm, got, c.want)
		}
	}
}

// procArgs reads what the BPF scan would read of a process: its argument
// area (fields 48 and 49 of /proc/PID/stat) and comm.
func procArgs(t *testing.T, pid int) kscan.ProcInfo {
	t.Helper()
	st, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		t.Fatal(err)
	}
	s := string(st)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:]) // from field 3
	var info kscan.ProcInfo
	info.ArgStart, _ = strconv.ParseUint(f[48-3], 10, 64)
	info.ArgEnd, _ = strconv.ParseUint(f[49-3], 10, 64)
	comm, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/comm")
	if err != nil {
		t.Fatal(err)
	}
	copy(info.Comm[:], bytes.TrimSuffix(comm, []byte("\n")))
	return info
}

// TestRootCmdline holds the command line read from a process's memory to
// what /proc/PID/cmdline says, and checks that the cases where they could
// differ are read from /proc.
func TestRootCmdline(t *testing.T) {
	needRoot(t, "sleep", "sh", "perl")
	procFD, err := openDir("/proc")
	if err != nil {
		t.Fatal(err)
	}
	defer closeFD(procFD)
	for _, c := range []struct {
		argv   []string
		fromVM bool
	}{
		{[]string{"sleep", "1000"}, true},
		{[]string{"sh", "-c", "exec sleep 1000 # with  two spaces", "x"}, true},
		{[]string{"sh", "-c", "exec -a custom-name sleep 1000"}, false},               // argv[0] is not the program
		{[]string{"perl", "-e", `$0 = "renamed by setproctitle"; sleep 1000`}, false}, // the area's end overwritten
	} {
		cmd := start(t, exec.Command(c.argv[0], c.argv[1:]...))
		pid := cmd.Process.Pid
		var want []byte
		for range 100 { // until the exec and the rename are done
			want, _ = os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cmdline")
			if bytes.HasPrefix(want, []byte("sleep")) || bytes.HasPrefix(want, []byte("custom")) ||
				bytes.HasPrefix(want, []byte("renamed")) {
				break
			}
			unix.Nanosleep(&unix.Timespec{Nsec: 10e6}, nil)
		}
		info := procArgs(t, pid)
		io := newFastIO()
		_, fromVM := io.cmdlineVM(pid, info)
		got, err := io.cmdline(procFD, strconv.Itoa(pid)+"/", pid, info)
		if err != nil || !bytes.Equal(got, want) || fromVM != c.fromVM {
			t.Errorf("%q: got %q (from memory: %v), %v; /proc says %q (want from memory: %v)",
				c.argv, got, fromVM, err, want, c.fromVM)
		}
	}
}
