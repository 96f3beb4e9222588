//go:build conformance

package server_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
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
// writes the side-by-side tables to the log and to
// $SIMPLECLOUD_CONFORMANCE_REPORT (default: simplecloud-conformance.md in
// the temporary directory).
func TestConformance(t *testing.T) {
	needRoot(t, "sshfs", "fusermount3", "sshd", "prove", "patch", "autoreconf", "make", "gcc")
	if _, err := os.Stat("/dev/fuse"); err != nil {
		t.Fatalf("needs /dev/fuse: %v", err)
	}
	if out, err := exec.Command("/usr/bin/python3", "-m", "pytest", "--version").CombinedOutput(); err != nil {
		t.Fatalf("needs Debian's python3 with pytest (apt-get install python3-pytest): %v: %s", err, out)
	}
	suites := suitesDir(t)
	pjd := pjdfstestBuild(t, filepath.Join(suites, "pjdfstest"))
	patch, err := filepath.Abs("testdata/conformance/sshfs-tests.patch")
	if err != nil {
		t.Fatal(err)
	}
	sshfsSuite, adapted, err := prepareSSHFSSuite(filepath.Join(suites, "sshfs-tests"), patch, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("sshfs's suite, adapted in a copy:\n%s", adapted)

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
		sides = append(sides, conformSide{name: s.name, dir: dir, userRoot: s.userRoot, remoteRoot: s.remoteRoot,
			sshConfig: writeSSHConfig(t, dir, s.port, u)})
	}

	// Four runs at once: the sshfs suite mostly waits (cache timeouts),
	// pjdfstest mostly forks; the two sides share the machine alike.
	ctx, cancel := context.WithTimeout(context.Background(), conformanceTimeout)
	defer cancel()
	start := time.Now()
	pjdRuns, sshfsRuns := make([]suiteRun, len(sides)), make([]suiteRun, len(sides))
	var wg sync.WaitGroup
	for i, s := range sides {
		wg.Go(func() { pjdRuns[i] = runPjdfstest(ctx, s, pjd) })
		wg.Go(func() { sshfsRuns[i] = runSSHFSSuite(ctx, s, sshfsSuite) })
	}
	wg.Wait()
	took := time.Since(start)
	for i, s := range sides {
		for _, r := range []struct {
			suite string
			run   suiteRun
		}{{"pjdfstest", pjdRuns[i]}, {"sshfs's suite", sshfsRuns[i]}} {
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
	out := os.Getenv("SIMPLECLOUD_CONFORMANCE_REPORT")
	if out == "" {
		out = filepath.Join(os.TempDir(), "simplecloud-conformance.md")
	}
	if err := os.WriteFile(out, rep.Bytes(), 0o644); err != nil {
		t.Errorf("write report: %v", err)
	} else {
		t.Logf("report written to %s", out)
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

// writeConformanceReport writes the tables and the list of regressions.
func writeConformanceReport(w *bytes.Buffer, pjd, sshfs conformance.Comparison, took time.Duration) {
	fmt.Fprintf(w, "Both suites on both servers in %s (the harness is conformance_test.go in sync/server).\n\n",
		took.Round(time.Second))
	fmt.Fprintf(w, "## pjdfstest on an sshfs mount: cases passed\n\n")
	pjd.WriteCounts(w, "tests/", "ours", "OpenSSH")
	fmt.Fprintf(w, "\n## sshfs's test_sshfs.py\n\n")
	sshfs.WriteCases(w, "test", "ours", "OpenSSH")
	fmt.Fprintf(w, "\n## Cases that pass on OpenSSH and fail on ours (%d pjdfstest, %d sshfs)\n",
		len(pjd.Regressions), len(sshfs.Regressions))
	fmt.Fprintf(w, "\n```")
	pjd.WriteRegressions(w, conformance.PjdfstestGroup)
	sshfs.WriteRegressions(w, func(string) string { return "sshfs" })
	fmt.Fprintf(w, "```\n")
}
