//go:build bench

package holders

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"simplecloud/internal/testutil"
)

// TestBenchHolders compares `simplecloud holders MOUNTPOINT` with `fuser -m`
// and `lsof` while 1000 processes run (200 of them holding the mount), then
// 3000, and checks that simplecloud's set of pids contains theirs. It
// prints the figures side by side; the goal (holders <= 1/3 of fuser with
// 1000 processes or more) is not asserted.
func TestBenchHolders(t *testing.T) {
	needRoot(t, "losetup", "mkfs.ext4", "mount", "sleep", "sh")
	for _, tool := range []string{"fuser", "lsof"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("needs %s (Debian packages psmisc and lsof): %v", tool, err)
		}
	}
	bin := filepath.Join(t.TempDir(), "simplecloud")
	// Built as `make build` builds the product: static, without cgo.
	build := exec.Command("go", "build", "-trimpath", "-o", bin, "simplecloud/cmd/simplecloud")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build simplecloud: %v\n%s", err, out)
	}
	_, mnt := loopMount(t)
	if err := os.WriteFile(filepath.Join(mnt, "f"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	const holding = 200
	want := spawnSleepers(t, mnt, 1000, holding)
	// Let every holder get through its exec before timing.
	testutil.Eventually(t, time.Minute, func() error {
		got, _ := timed(t, bin, "holders", mnt, "--json")
		n := 0
		for pid := range got {
			if want[pid] {
				n++
			}
		}
		if n != holding {
			return fmt.Errorf("holders sees %d of the %d holders", n, holding)
		}
		return nil
	})
	benchHolders(t, bin, mnt, want)
	// The same holders among 2000 more processes: how each tool scales.
	spawnSleepers(t, mnt, 2000, 0)
	benchHolders(t, bin, mnt, want)
}

// benchHolders times simplecloud, fuser and lsof on mnt, interleaved
// (one run of each per round, so that a change in the machine's load
// falls on all of them), and checks that simplecloud reports every pid in
// want and every pid the others report.
func benchHolders(t *testing.T, bin, mnt string, want map[int]bool) {
	t.Helper()
	type result struct {
		name      string
		pids      map[int]bool
		wall, cpu []time.Duration
	}
	var results []*result
	argvs := [][]string{{bin, "holders", mnt, "--json"}, {"fuser", "-m", mnt}, {"lsof", "-t", mnt},
		{bin, "holders", mnt, "--json", "--engine", "proc"}}
	for _, argv := range argvs {
		name := filepath.Base(argv[0]) + " " + strings.Join(argv[1:], " ")
		if argv[0] == bin {
			name = "simplecloud holders (" + map[bool]string{true: "auto", false: "proc"}[len(argv) == 4] + ")"
		}
		results = append(results, &result{name: name})
	}
	const rounds = 21
	for range rounds {
		for i, argv := range argvs {
			pids, d, cpu := timedCPU(t, argv[0], argv[1:]...)
			r := results[i]
			r.pids, r.wall, r.cpu = pids, append(r.wall, d), append(r.cpu, cpu)
		}
	}
	median := func(ds []time.Duration) time.Duration {
		ds = slices.Clone(ds)
		slices.Sort(ds)
		return ds[len(ds)/2]
	}
	running, _ := os.ReadDir("/proc")
	t.Logf("%d entries in /proc, %d holders of %s; %d interleaved rounds, median (best) wall clock, median user+system CPU:",
		len(running), len(want), mnt, rounds)
	ours, oursCPU := median(results[0].wall), median(results[0].cpu)
	for _, r := range results {
		w, c := median(r.wall), median(r.cpu)
		t.Logf("  %-28s %7.1f ms (%6.1f) wall, %5.2fx simplecloud's   %7.1f ms CPU, %5.2fx   %4d pids", shorten(r.name, 28),
			ms(w), ms(slices.Min(r.wall)), float64(w)/float64(ours), ms(c), float64(c)/float64(oursCPU), len(r.pids))
	}
	for _, r := range results[1:] {
		var extra []int
		for pid := range r.pids {
			if !results[0].pids[pid] {
				extra = append(extra, pid)
			}
		}
		slices.Sort(extra)
		if len(extra) > 0 {
			t.Errorf("%s reports pids simplecloud does not: %v", r.name, extra)
		}
	}
	for pid := range want {
		if !results[0].pids[pid] {
			t.Errorf("simplecloud misses holder %d", pid)
		}
	}
}

// spawnSleepers starts total sleeping processes; the first holding of them
// hold mnt (half by their cwd, half by an open file). It returns the
// holders' pids; cleanup kills them all.
func spawnSleepers(t *testing.T, mnt string, total, holding int) map[int]bool {
	t.Helper()
	want := map[int]bool{}
	for i := range total {
		var c *exec.Cmd
		switch {
		case i < holding/2:
			c = exec.Command("sleep", "1000")
			c.Dir = mnt
		case i < holding:
			c = exec.Command("sh", "-c", `exec 3<"$1"; exec sleep 1000`, "sh", filepath.Join(mnt, "f"))
		default:
			c = exec.Command("sleep", "1000")
		}
		start(t, c)
		if i < holding {
			want[c.Process.Pid] = true
		}
	}
	return want
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// timed runs a tool and returns the pids it reports and how long it took.
func timed(t *testing.T, name string, args ...string) (map[int]bool, time.Duration) {
	t.Helper()
	pids, d, _ := timedCPU(t, name, args...)
	return pids, d
}

// timedCPU is timed that also returns the CPU time (user and system) the
// tool used.
func timedCPU(t *testing.T, name string, args ...string) (map[int]bool, time.Duration, time.Duration) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	c := exec.Command(name, args...)
	c.Stdout, c.Stderr = &stdout, &stderr
	begin := time.Now()
	err := c.Run()
	d := time.Since(begin)
	cpu := c.ProcessState.UserTime() + c.ProcessState.SystemTime()
	if err != nil && stdout.Len() == 0 {
		t.Fatalf("%s %v: %v\n%s", name, args, err, stderr.String())
	}
	pids := map[int]bool{}
	if strings.HasSuffix(name, "simplecloud") {
		var r Report
		if err := json.Unmarshal(stdout.Bytes(), &r); err != nil {
			t.Fatalf("holders --json: %v", err)
		}
		for _, p := range r.Processes {
			pids[p.PID] = true
		}
		return pids, d, cpu
	}
	for _, f := range strings.Fields(stdout.String()) {
		if pid, err := strconv.Atoi(strings.TrimRight(f, "cefrmn")); err == nil {
			pids[pid] = true
		}
	}
	return pids, d, cpu
}
