//go:build bench

package server_test

import (
	"bufio"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// TestBenchSync measures `simplecloud sync` against rsync -a -e ssh and
// unison over OpenSSH's sshd on the same machine, same cipher, rounds
// interleaved, best kept: an initial sync of 10,000 small files and a
// 1 GiB file, a re-sync of 100,000 unchanged files, the bytes on the wire
// after appending 1 MiB to the 1 GiB file, the delay of a server-side
// change reaching a running client, and peak memory per file at 200,000
// files. $SIMPLECLOUD_BENCH_ROWS picks rows (initial, resync, append,
// latency, memory). It times nothing against a threshold.
func TestBenchSync(t *testing.T) {
	needRoot(t, "rsync", "ssh")
	u := newUser(t, "")
	root := openDir(t)
	ours := startServer(t, root, filepath.Join(t.TempDir(), "hk"), nil, "--log-level", "info")
	ours.cipher = benchCipher
	ref, why := startRefSSHD(t, u, "internal-sftp")
	if ref == nil {
		t.Skipf("reference: %s", why)
	}
	b := &syncBench{t: t, u: u, root: root, ours: ours, ref: ref, work: openDir(t)}
	os.Chown(b.work, u.uid, u.gid)
	_, b.unison = exec.LookPath("unison")
	rows := os.Getenv("SIMPLECLOUD_BENCH_ROWS")
	want := func(r string) bool { return rows == "" || strings.Contains(rows, r) }
	if want("initial") || want("append") {
		b.initial(want("initial"), want("append"))
	}
	if want("resync") {
		b.resync()
	}
	if want("latency") {
		b.latency()
	}
	if want("memory") {
		b.memory()
	}
	t.Logf("\n%s", strings.Join(b.table, "\n"))
}

// syncBench holds the sides and the result table.
type syncBench struct {
	t      *testing.T
	u      *testUser
	root   string // our server's root (the user's tree is root/USER)
	ours   *server
	ref    *server // OpenSSH's sshd, for rsync and unison
	work   string  // where the reference tools' destinations live
	trash  string  // where earlier rounds' trees wait (setAside)
	aside  int
	unison error // nil when unison is installed
	table  []string
}

func (b *syncBench) row(format string, a ...any) {
	b.table = append(b.table, fmt.Sprintf(format, a...))
}

// toolRun is one tool's run: time, peak memory of its client and server
// processes, and what it printed.
type toolRun struct {
	d              time.Duration
	clientRSS      int64 // bytes
	serverRSS      int64
	out            string
	sent, received int64
}

// timed runs cmd, sampling the peak memory of the server-side process
// named comm that runs as the user while it runs.
func (b *syncBench) timed(cmd *exec.Cmd, comm string) toolRun {
	b.t.Helper()
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	stop := make(chan struct{})
	peak := make(chan int64, 1)
	go func() { peak <- sampleRSS(b.u.uid, comm, stop) }()
	// Every tool starts with nothing dirty in the page cache: else the
	// first run pays, on the same disk, for writing back the files just
	// made, and each later one for what the one before left unsynced
	// (rsync without --fsync leaves 1.3 GB).
	syscall.Sync()
	start := time.Now()
	err := cmd.Run()
	d := time.Since(start)
	close(stop)
	r := toolRun{d: d, serverRSS: <-peak, out: out.String()}
	if err != nil {
		b.t.Fatalf("%s: %v\n%s", strings.Join(cmd.Args, " "), err, r.out)
	}
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		r.clientRSS = ru.Maxrss << 10
	}
	return r
}

// sampleRSS returns the largest VmHWM of processes of uid named comm,
// sampled until stop. VmHWM is the kernel's own high-water mark, so a
// sample every rssEvery sees the peak of any process that lives longer;
// each pass reads every process's comm, and at 20 ms the passes took 5-7%
// of the machine's CPU away from the tools being timed.
const rssEvery = 100 * time.Millisecond

func sampleRSS(uid int, comm string, stop <-chan struct{}) int64 {
	var best int64
	for {
		ents, _ := os.ReadDir("/proc")
		for _, e := range ents {
			if _, err := strconv.Atoi(e.Name()); err != nil {
				continue
			}
			c, _ := os.ReadFile("/proc/" + e.Name() + "/comm")
			if strings.TrimSpace(string(c)) != comm {
				continue
			}
			st, _ := os.ReadFile("/proc/" + e.Name() + "/status")
			var id, hwm int64
			for _, l := range strings.Split(string(st), "\n") {
				f := strings.Fields(l)
				if len(f) >= 2 && f[0] == "Uid:" {
					id, _ = strconv.ParseInt(f[1], 10, 64)
				}
				if len(f) >= 2 && f[0] == "VmHWM:" {
					hwm, _ = strconv.ParseInt(f[1], 10, 64)
				}
			}
			if int(id) == uid {
				best = max(best, hwm<<10)
			}
		}
		select {
		case <-stop:
			return best
		case <-time.After(rssEvery):
		}
	}
}

// ourSync runs simplecloud sync --once --json from local to the user's
// folder path on our server.
func (b *syncBench) ourSync(local, path, state string) toolRun {
	b.t.Helper()
	rsh := "ssh " + strings.Join(b.ours.sshArgs(b.u.key, "-p"), " ")
	cmd := exec.Command(binary(b.t), "sync", "--once", "--json", "--log-level", "warn", "-e", rsh, local, b.u.name+"@127.0.0.1:"+path)
	cmd.Env = append(os.Environ(), "XDG_STATE_HOME="+state)
	r := b.timed(cmd, "exe") // the connection child, re-executed through /proc/self/exe
	var s syncSummary
	if err := json.Unmarshal([]byte(r.out[strings.LastIndex(r.out, "{"):]), &s); err != nil || !s.Converged {
		b.t.Fatalf("simplecloud sync: %v\n%s", err, r.out)
	}
	r.sent, r.received = s.BytesSent, s.BytesReceived
	return r
}

var rsyncStat = regexp.MustCompile(`Total bytes (sent|received): ([\d,]+)`)

// rsyncPush runs rsync -a -e ssh from local to dst (absolute) over sshd.
func (b *syncBench) rsyncPush(local, dst string, opts ...string) toolRun {
	b.t.Helper()
	rsh := "ssh " + strings.Join(b.ref.sshArgs(b.u.key, "-p"), " ")
	args := append([]string{"-a", "--stats", "-e", rsh}, opts...)
	cmd := exec.Command("rsync", append(args, local+"/", b.u.name+"@127.0.0.1:"+dst+"/")...)
	r := b.timed(cmd, "rsync")
	for _, m := range rsyncStat.FindAllStringSubmatch(r.out, -1) {
		n, _ := strconv.ParseInt(strings.ReplaceAll(m[2], ",", ""), 10, 64)
		if m[1] == "sent" {
			r.sent = n
		} else {
			r.received = n
		}
	}
	return r
}

// unisonSync runs unison between local and dst (absolute) over sshd.
func (b *syncBench) unisonSync(local, dst, archives string) toolRun {
	b.t.Helper()
	args := b.ref.sshArgs(b.u.key, "-p")
	i := slices.Index(args, "-p")
	port := args[i+1]
	args = append(args[:i:i], args[i+2:]...)
	cmd := exec.Command("unison", local, "ssh://"+b.u.name+"@127.0.0.1:"+port+"/"+dst, "-batch", "-auto", "-silent",
		"-sshargs", strings.Join(args, " "), "-ui", "text")
	cmd.Env = append(os.Environ(), "UNISON="+archives)
	// Both replicas are on this machine: the server side's archives (in
	// the user's ~/.unison) must start fresh with the client's.
	os.RemoveAll(filepath.Join(b.u.home, ".unison"))
	return b.timed(cmd, "unison")
}

// makeFiles writes n files of sizes from lo to hi bytes in dirs
// directories below dir, in parallel.
func makeFiles(t *testing.T, dir string, n, dirs, lo, hi int) {
	t.Helper()
	var wg sync.WaitGroup
	buf := make([]byte, hi)
	rand.Read(buf)
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < n; i += 8 {
				d := filepath.Join(dir, fmt.Sprintf("d%03d", i%dirs))
				os.MkdirAll(d, 0o755)
				size := lo + (i*7919)%(hi-lo+1)
				os.WriteFile(filepath.Join(d, fmt.Sprintf("f%06d", i)), buf[:size], 0o644)
			}
		}()
	}
	wg.Wait()
}

// fresh makes an empty destination for the reference tools, owned by the
// user.
func (b *syncBench) fresh(name string) string {
	d := filepath.Join(b.work, name)
	b.setAside(d)
	os.Mkdir(d, 0o755)
	os.Chown(d, b.u.uid, b.u.gid)
	return d
}

// ourFresh empties our server folder name and the client's state.
func (b *syncBench) ourFresh(name string) (string, string) {
	b.setAside(filepath.Join(b.root, b.u.name, name))
	b.setAside(filepath.Join(b.root, b.u.name, ".simplecloud"))
	st := filepath.Join(b.work, "state-"+name)
	os.RemoveAll(st)
	return name, st
}

// setAside moves what an earlier round left at p out of the way, to be
// deleted when the test ends, rather than deleting it before the next
// tool runs: ext4 without a journal (this machine's) passes over every
// inode freed in the last minute one by one when it makes a file
// (recently_deleted), which cost whichever tool ran right after a
// deletion of 10,000 files 1 to 3.5 CPU-s. (A plain rename: b.root and
// b.work are on one file system.)
func (b *syncBench) setAside(p string) {
	if _, err := os.Lstat(p); err != nil {
		return
	}
	if b.trash == "" {
		b.trash = openDir(b.t)
	}
	b.aside++
	if err := os.Rename(p, filepath.Join(b.trash, strconv.Itoa(b.aside))); err != nil {
		b.t.Fatal(err)
	}
}

func secs(d time.Duration) string { return fmt.Sprintf("%.2f s", d.Seconds()) }

func ratio(a, b time.Duration) string { return fmt.Sprintf("%.2fx", a.Seconds()/b.Seconds()) }

// initial: 10,000 files of 1-64 KiB and one of 1 GiB, client to server;
// then append 1 MiB to the big file and count the bytes on the wire.
func (b *syncBench) initial(timing, appendRow bool) {
	t := b.t
	local := openDir(t)
	makeFiles(t, filepath.Join(local, "small"), 10000, 200, 1<<10, 64<<10)
	writeRandom(t, filepath.Join(local, "big"), 1<<30)
	best := map[string]toolRun{}
	keep := func(name string, r toolRun) {
		if o, ok := best[name]; !ok || r.d < o.d {
			best[name] = r
		}
	}
	rounds := benchRounds()
	if !timing {
		rounds = 1
	}
	var ourPath, ourState, rsyncDst, unisonDst string
	for range rounds {
		ourPath, ourState = b.ourFresh("initial")
		keep("ours", b.ourSync(local, ourPath, ourState))
		rsyncDst = b.fresh("rsync-initial")
		keep("rsync", b.rsyncPush(local, rsyncDst))
		if timing {
			// rsync syncs nothing to disk by default; what it costs
			// to do so, as every upload of ours does.
			keep("rsync --fsync", b.rsyncPush(local, b.fresh("rsync-fsync-initial"), "--fsync"))
		}
		if b.unison == nil && timing {
			unisonDst = b.fresh("unison-initial")
			keep("unison", b.unisonSync(local, unisonDst, b.fresh("unison-archives")))
		}
	}
	sameFile(t, filepath.Join(local, "big"), filepath.Join(b.root, b.u.name, "initial", "big"))
	// Every tool's result checked: a run that failed quietly would make the
	// ratio a lie.
	sameTree(t, local, filepath.Join(b.root, b.u.name, ourPath))
	sameTree(t, local, rsyncDst)
	if unisonDst != "" {
		sameTree(t, local, unisonDst)
	}
	if timing {
		o, r := best["ours"], best["rsync"]
		line := fmt.Sprintf("initial sync, 10,000 files of 1-64 KiB + 1 GiB   simplecloud %s   rsync -a -e ssh %s (%s)",
			secs(o.d), secs(r.d), ratio(o.d, r.d))
		if rf, ok := best["rsync --fsync"]; ok {
			line += fmt.Sprintf("   rsync -a --fsync %s (%s)", secs(rf.d), ratio(o.d, rf.d))
		}
		if un, ok := best["unison"]; ok {
			line += fmt.Sprintf("   unison %s (%s)", secs(un.d), ratio(o.d, un.d))
		}
		b.row("%s", line)
	}
	if !appendRow {
		return
	}
	f, err := os.OpenFile(filepath.Join(local, "big"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	more := make([]byte, 1<<20)
	rand.Read(more)
	f.Write(more)
	f.Close()
	o := b.ourSync(local, ourPath, ourState)
	r := b.rsyncPush(local, rsyncDst)
	sameFile(t, filepath.Join(local, "big"), filepath.Join(b.root, b.u.name, "initial", "big"))
	sameTree(t, local, rsyncDst)
	mib := func(n int64) string { return fmt.Sprintf("%.2f MiB", float64(n)/(1<<20)) }
	b.row("append 1 MiB to the 1 GiB file, bytes on the wire   simplecloud %s (sent %s, received %s, %s)   rsync %s (sent %s, received %s, %s)",
		mib(o.sent+o.received), mib(o.sent), mib(o.received), secs(o.d), mib(r.sent+r.received), mib(r.sent), mib(r.received), secs(r.d))
}

// resync: 100,000 unchanged files, synced again.
func (b *syncBench) resync() {
	t := b.t
	local := openDir(t)
	makeFiles(t, local, 100000, 1000, 100, 2000)
	ourPath, ourState := b.ourFresh("resync")
	b.ourSync(local, ourPath, ourState)
	dst := b.fresh("rsync-resync")
	b.rsyncPush(local, dst)
	var bo, br time.Duration
	for range benchRounds() + 1 { // the first round warms both sides' caches
		o := b.ourSync(local, ourPath, ourState)
		r := b.rsyncPush(local, dst)
		if bo == 0 || o.d < bo {
			bo = o.d
		}
		if br == 0 || r.d < br {
			br = r.d
		}
	}
	sameTree(t, local, filepath.Join(b.root, b.u.name, ourPath))
	sameTree(t, local, dst)
	b.row("re-sync, 100,000 unchanged files   simplecloud %s   rsync -a -e ssh %s (%s)", secs(bo), secs(br), ratio(bo, br))
}

// latency: a running client, 100 files written on the server by another
// process (a temp file renamed in, as a download finishes), each timed
// until it is in the client's folder.
func (b *syncBench) latency() {
	t := b.t
	local := filepath.Join(openDir(t), "live")
	path, state := b.ourFresh("live")
	rsh := "ssh " + strings.Join(b.ours.sshArgs(b.u.key, "-p"), " ")
	cmd := exec.Command(binary(t), "sync", "--json", "--log-level", "warn", "-e", rsh, local, b.u.name+"@127.0.0.1:"+path)
	cmd.Env = append(os.Environ(), "XDG_STATE_HOME="+state)
	out, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cmd.Process.Signal(syscall.SIGTERM); cmd.Wait() }()
	first := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(out)
		once := sync.Once{}
		for sc.Scan() {
			once.Do(func() { close(first) })
		}
	}()
	select {
	case <-first:
	case <-time.After(30 * time.Second):
		t.Fatal("the client did not finish its first run")
	}
	server := filepath.Join(b.root, b.u.name, path)
	var ds []time.Duration
	for i := range 100 {
		tmp := filepath.Join(b.work, "incoming")
		os.WriteFile(tmp, []byte(fmt.Sprintf("change %d", i)), 0o644)
		os.Chown(tmp, b.u.uid, b.u.gid)
		name := fmt.Sprintf("c%03d", i)
		start := time.Now()
		if err := os.Rename(tmp, filepath.Join(server, name)); err != nil {
			t.Fatal(err)
		}
		// Looked for every millisecond: testutil.Eventually doubles its
		// pause (1, 2, 4 ... ms), which rounded a delay up to the next of
		// 31, 63 or 127 ms.
		for {
			if _, err := os.Stat(filepath.Join(local, name)); err == nil {
				break
			}
			if time.Since(start) > 10*time.Second {
				t.Fatalf("%s did not reach the client in 10 s", name)
			}
			time.Sleep(time.Millisecond)
		}
		ds = append(ds, time.Since(start))
	}
	slices.Sort(ds)
	b.row("server-side change on a running client, 100 changes   simplecloud p50 %v, p99 %v   %s",
		ds[49].Round(time.Millisecond), ds[98].Round(time.Millisecond), syncthingRow(t, b.work))
}

// memory: peak RSS of client and server processes for an initial sync of
// 200,000 files.
func (b *syncBench) memory() {
	t := b.t
	local := openDir(t)
	const n = 200000
	makeFiles(t, local, n, 2000, 10, 200)
	path, state := b.ourFresh("memory")
	o := b.ourSync(local, path, state)
	r := b.rsyncPush(local, b.fresh("rsync-memory"))
	per := func(x int64) string { return fmt.Sprintf("%d B", x/n) }
	line := fmt.Sprintf("peak RSS per file, 200,000 files (client / server)   simplecloud %s / %s   rsync %s / %s",
		per(o.clientRSS), per(o.serverRSS), per(r.clientRSS), per(r.serverRSS))
	if b.unison == nil {
		un := b.unisonSync(local, b.fresh("unison-memory"), b.fresh("unison-archives-m"))
		line += fmt.Sprintf("   unison %s / %s", per(un.clientRSS), per(un.serverRSS))
	}
	b.row("%s", line)
}
