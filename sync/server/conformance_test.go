//go:build conformance

package server_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"simplecloud/internal/conformance"
)

// The conformance harness (make conformance): pjdfstest and sshfs's own
// test suite on sshfs mounts of simplecloud serve and of OpenSSH's
// sftp-server, side by side on the same machine with the same sshfs, the
// same client options and the same account.
//
// The arrangement, chosen because it tests the most: the suites run as
// root (pjdfstest switches to other uids and chowns; sshfs's suite writes
// its source directory directly and checks chown when root), and the
// account on both servers is a uid 0 alias (newRootAlias), so that the
// server may do what the suites ask of it. pjdfstest's mount is made by
// root with allow_other,default_permissions: other uids reach it and the
// kernel checks their permissions against the modes the server reports.

// sshfsNotApplicable lists the sshfs tests whose premise ours does not
// share, with the reason; they are shown, never counted against ours.
var sshfsNotApplicable = map[string]string{
	"test_transform_with_contain": "its links hold absolute local paths (ROOT/USER/...), which a server " +
		"rooting the user at ROOT/USER does not show below the mounted directory, so transform_symlinks cannot " +
		"make them relative",
}

// conformanceTimeout bounds each suite on each side; a side that hangs
// is stopped and its missing cases count as failures.
const conformanceTimeout = 40 * time.Minute

// TestConformance runs both suites against both servers in parallel and
// fails listing every case that passes on OpenSSH and fails on ours. It
// writes the side-by-side tables to the log and to report.md in
// $SIMPLECLOUD_CONFORMANCE_OUT (default: a new temporary directory, kept),
// with each side's raw outputs (TAP, junit XML, stderr) beside it. $SIMPLECLOUD_CONFORMANCE_SUITES and
// $SIMPLECLOUD_PJDFSTEST_DIRS narrow it down, for a quicker look.
func TestConformance(t *testing.T) {
	needRoot(t, "sshfs", "fusermount3", "sshd", "prove", "patch", "autoreconf", "make", "gcc")
	if _, err := os.Stat("/dev/fuse"); err != nil {
		t.Fatalf("needs /dev/fuse: %v", err)
	}
	if out, err := exec.Command("/usr/bin/python3", "-m", "pytest", "--version").CombinedOutput(); err != nil {
		t.Fatalf("needs Debian's python3 with pytest (apt-get install python3-pytest): %v: %s", err, out)
	}
	suites := suitesDir(t)
	var pjd string
	if wants("pjdfstest") {
		pjd = pjdfstestBuild(t, filepath.Join(suites, "pjdfstest"))
	}
	patch, err := filepath.Abs("testdata/conformance/sshfs-tests.patch")
	if err != nil {
		t.Fatal(err)
	}
	sshfsSuite, adapted, err := prepareSSHFSSuite(filepath.Join(suites, "sshfs-tests"), patch, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("sshfs's suite, adapted in a copy:\n%s", adapted)

	out := conformanceOut(t)
	sides := startConformSides(t, out)
	pjdRuns, sshfsRuns, took := runConformance(sides, pjd, sshfsSuite)
	for i, s := range sides {
		for _, r := range []struct {
			suite string
			run   suiteRun
		}{{"pjdfstest", pjdRuns[i]}, {"sshfs", sshfsRuns[i]}} {
			if !wants(r.suite) {
				continue
			}
			t.Logf("%s on %s: %d cases in %s; output in %s", r.suite, s.name, len(r.run.res),
				r.run.took.Round(time.Second), r.run.log)
			if r.run.err != nil {
				t.Errorf("%s on %s: %v", r.suite, s.name, r.run.err)
			}
		}
	}

	pjdCmp := conformance.Compare(pjdRuns[0].res, pjdRuns[1].res, conformance.PjdfstestGroup, nil)
	sshfsCmp := conformance.Compare(sshfsRuns[0].res, sshfsRuns[1].res, func(id string) string { return id },
		sshfsNotApplicable)
	var rep bytes.Buffer
	writeConformanceReport(&rep, pjdCmp, sshfsCmp, took)
	t.Logf("conformance, simplecloud serve (ours) and OpenSSH's sftp-server:\n%s", rep.String())
	if err := os.WriteFile(filepath.Join(out, "report.md"), rep.Bytes(), 0o644); err != nil {
		t.Errorf("write report: %v", err)
	} else {
		t.Logf("report and the suites' outputs are in %s", out)
	}
	if n := len(pjdCmp.Regressions) + len(sshfsCmp.Regressions); n > 0 {
		var fewer []string
		for _, g := range pjdCmp.Fewer() {
			fewer = append(fewer, fmt.Sprintf("%s (%d < %d)", g.Name, g.Ours, g.Ref))
		}
		t.Errorf("%d cases pass on OpenSSH's sftp-server and fail on ours (listed above); "+
			"pjdfstest directories where ours passes fewer: %s; sshfs tests: %d",
			n, strings.Join(fewer, ", "), len(sshfsCmp.Regressions))
	}
}

// startConformSides starts both servers for a new uid 0 alias account
// and returns how to reach them, ours first; out holds their outputs.
func startConformSides(t *testing.T, out string) []conformSide {
	t.Helper()
	u := newRootAlias(t)
	oursRoot := openDir(t)
	ours := startServer(t, oursRoot, filepath.Join(t.TempDir(), "hk"), nil, "--permit-root-login", "--log-level", "info")
	refPort := startReference(t, u)
	var sides []conformSide
	for _, s := range []struct{ name, port, userRoot, remoteRoot string }{
		{"ours", ours.port, filepath.Join(oursRoot, u.name), "/"},
		{"OpenSSH", refPort, openDir(t), ""},
	} {
		dir := openDir(t)
		if s.remoteRoot == "" {
			s.remoteRoot = s.userRoot
		}
		if err := os.MkdirAll(s.userRoot, 0o755); err != nil {
			t.Fatal(err)
		}
		sideOut := filepath.Join(out, s.name)
		if err := os.MkdirAll(sideOut, 0o755); err != nil {
			t.Fatal(err)
		}
		sides = append(sides, conformSide{name: s.name, dir: dir, out: sideOut, userRoot: s.userRoot,
			remoteRoot: s.remoteRoot, sshConfig: writeSSHConfig(t, dir, s.port, u)})
	}
	return sides
}

// runConformance runs the wanted suites on every side at once and returns
// their runs, per side, and the time they took together.
func runConformance(sides []conformSide, pjd, sshfsSuite string) (pjdRuns, sshfsRuns []suiteRun, took time.Duration) {
	// Four runs at once: the sshfs suite mostly waits (cache timeouts),
	// pjdfstest mostly forks; the two sides share the machine alike.
	ctx, cancel := context.WithTimeout(context.Background(), conformanceTimeout)
	defer cancel()
	start := time.Now()
	pjdRuns, sshfsRuns = make([]suiteRun, len(sides)), make([]suiteRun, len(sides))
	var wg sync.WaitGroup
	for i, s := range sides {
		if wants("pjdfstest") {
			wg.Go(func() { pjdRuns[i] = runPjdfstest(ctx, s, pjd) })
		}
		if wants("sshfs") {
			wg.Go(func() { sshfsRuns[i] = runSSHFSSuite(ctx, s, sshfsSuite) })
		}
	}
	wg.Wait()
	return pjdRuns, sshfsRuns, time.Since(start)
}

// toolVersions names the clients' versions, for the report.
func toolVersions() string {
	var v []string
	for _, c := range [][]string{{"sshfs", "--version"}, {"ssh", "-V"}, {"prove", "--version"}} {
		out, _ := exec.Command(c[0], c[1:]...).CombinedOutput()
		for _, l := range strings.Split(string(out), "\n") {
			if strings.Contains(l, "SSHFS version") || strings.HasPrefix(l, "OpenSSH") || strings.HasPrefix(l, "TAP::Harness") {
				v = append(v, strings.TrimSpace(l))
			}
		}
	}
	return strings.Join(v, ", ")
}

// conformanceOut returns the directory for the report and the raw outputs.
func conformanceOut(t *testing.T) string {
	t.Helper()
	out := os.Getenv("SIMPLECLOUD_CONFORMANCE_OUT")
	var err error
	if out == "" {
		out, err = os.MkdirTemp("", "simplecloud-conformance-")
	} else {
		err = os.MkdirAll(out, 0o755)
	}
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// wants reports whether the suite ("pjdfstest", "sshfs") runs: both do
// unless $SIMPLECLOUD_CONFORMANCE_SUITES names only one.
func wants(suite string) bool {
	names := strings.Fields(os.Getenv("SIMPLECLOUD_CONFORMANCE_SUITES"))
	return len(names) == 0 || slices.Contains(names, suite)
}

// writeConformanceReport writes the tables and the list of regressions.
func writeConformanceReport(w *bytes.Buffer, pjd, sshfs conformance.Comparison, took time.Duration) {
	fmt.Fprintf(w, "The suites on both servers in %s (the harness is conformance_test.go in sync/server).\n",
		took.Round(time.Second))
	fmt.Fprintf(w, "\nOurs: simplecloud serve --permit-root-login. OpenSSH: sshd with /usr/lib/openssh/sftp-server. "+
		"Both: the same uid 0 account and key, umask 022; pjdfstest as root on sshfs -o %s; %s.\n",
		strings.Join(sshfsMountOptions[1:], " "), toolVersions())
	if wants("pjdfstest") {
		fmt.Fprintf(w, "\n## pjdfstest on an sshfs mount: cases passed\n\n")
		pjd.WriteCounts(w, "tests/", "ours", "OpenSSH")
	}
	if wants("sshfs") {
		fmt.Fprintf(w, "\n## sshfs's test_sshfs.py\n\n")
		sshfs.WriteCases(w, "test", "ours", "OpenSSH")
	}
	fmt.Fprintf(w, "\n## Cases that pass on OpenSSH and fail on ours (%d pjdfstest, %d sshfs)\n",
		len(pjd.Regressions), len(sshfs.Regressions))
	if len(pjd.Regressions)+len(sshfs.Regressions) > 0 {
		fmt.Fprintf(w, "\n```")
		pjd.WriteRegressions(w, conformance.PjdfstestGroup)
		sshfs.WriteRegressions(w, func(string) string { return "sshfs" })
		fmt.Fprintf(w, "```\n")
	}
	fmt.Fprintf(w, "\n## Cases that pass on ours and fail on OpenSSH (%d pjdfstest, %d sshfs)\n\n%s\n",
		len(pjd.Gains), len(sshfs.Gains), strings.Join(append(pjd.Gains, sshfs.Gains...), ", "))
}
