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
	"syscall"
	"time"

	"simplecloud/internal/conformance"
)

// conformSide is one server the suites run against, and how to reach it.
type conformSide struct {
	name string
	dir  string // the side's working directory (mount point, ssh config)
	out  string // where the suites' raw outputs are kept
	// userRoot is the local directory the server shows as the user's
	// files, and remoteRoot its name on the server: "/" for ours, which
	// roots the user there, the same path for OpenSSH.
	userRoot, remoteRoot string
	sshConfig            string // client config with the Host alias "localhost"
}

// remote returns the server's name for local, a path below userRoot.
func (s conformSide) remote(local string) string {
	rel, err := filepath.Rel(s.userRoot, local)
	if err != nil || rel == "." {
		return s.remoteRoot
	}
	return filepath.Join(s.remoteRoot, rel)
}

// suiteRun is one suite's results on one side.
type suiteRun struct {
	res  conformance.Results
	took time.Duration
	err  error  // the suite could not run, or its output could not be read
	log  string // where the suite's own output is
}

// sshfsMountOptions are the options of the pjdfstest mount, the same on
// both sides: sshfs mounted by root for every user (pjdfstest switches to
// other uids), the kernel checking permissions from the modes the server
// reports, as a local file system would.
var sshfsMountOptions = []string{"-o", "allow_other,default_permissions"}

// runPjdfstest mounts the side's userRoot/pjdfstest with sshfs and runs
// `prove -v -r tests` of the pjdfstest build in pjd inside the mount.
func runPjdfstest(ctx context.Context, s conformSide, pjd string) suiteRun {
	start := time.Now()
	r := suiteRun{log: filepath.Join(s.out, "pjdfstest.stderr")}
	work := filepath.Join(s.userRoot, "pjdfstest")
	mnt := filepath.Join(s.dir, "pjdfstest-mnt")
	for _, d := range []string{work, mnt} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			r.err = err
			return r
		}
	}
	args := append([]string{"-F", s.sshConfig}, sshfsMountOptions...)
	args = append(args, "localhost:"+s.remote(work), mnt)
	if out, err := exec.Command("sshfs", args...).CombinedOutput(); err != nil {
		r.err = fmt.Errorf("sshfs %v: %v: %s", args, err, out)
		return r
	}
	defer exec.Command("fusermount3", "-u", "-z", mnt).Run()
	out := filepath.Join(s.out, "pjdfstest.tap")
	cmd := groupCommand(ctx, "prove", append([]string{"-v", "-r"}, pjdfstestDirs(pjd)...)...)
	cmd.Dir = mnt
	r.err = runTo(cmd, out, r.log)
	f, err := os.Open(out)
	if err != nil {
		r.err = err
		return r
	}
	defer f.Close()
	if r.res, err = conformance.ParseProve(f); err != nil {
		r.err = err
	} else if len(r.res) == 0 && r.err == nil {
		r.err = fmt.Errorf("prove reported no cases; see %s", r.log)
	} else {
		r.err = nil // failing cases make prove exit 1; the results say which
		if ctx.Err() != nil {
			r.err = fmt.Errorf("stopped after %s: %w", time.Since(start).Round(time.Second), ctx.Err())
		}
	}
	r.took = time.Since(start)
	return r
}

// pjdfstestDirs returns what prove runs: pjd/tests, or only the
// directories below it that $SIMPLECLOUD_PJDFSTEST_DIRS names ("chmod
// open"), for a quicker look at a few system calls.
func pjdfstestDirs(pjd string) []string {
	names := strings.Fields(os.Getenv("SIMPLECLOUD_PJDFSTEST_DIRS"))
	if len(names) == 0 {
		return []string{filepath.Join(pjd, "tests")}
	}
	var dirs []string
	for _, n := range names {
		dirs = append(dirs, filepath.Join(pjd, "tests", n))
	}
	return dirs
}

// runSSHFSSuite runs sshfs's test_sshfs.py from the adapted copy in suite
// (see prepareSSHFSSuite) against the side, as root, with pytest's
// temporary directories below the side's userRoot.
func runSSHFSSuite(ctx context.Context, s conformSide, suite string) suiteRun {
	start := time.Now()
	r := suiteRun{log: filepath.Join(s.out, "sshfs-tests.out")}
	junit := filepath.Join(s.out, "sshfs-tests.xml")
	// pytest.ini's -x would stop at the first failure: every test runs.
	cmd := groupCommand(ctx, "/usr/bin/python3", "-m", "pytest", "-p", "no:cacheprovider", "--maxfail=1000",
		"--basetemp="+filepath.Join(s.userRoot, "pytest"), "--junitxml="+junit, "test_sshfs.py")
	cmd.Dir = filepath.Join(suite, "test")
	cmd.Env = append(os.Environ(), "PATH="+filepath.Join(suite, "bin")+":"+os.Getenv("PATH"),
		"SSHFS_TEST_SSH_CONFIG="+s.sshConfig, "PYTHONDONTWRITEBYTECODE=1")
	if s.remoteRoot == "/" {
		cmd.Env = append(cmd.Env, "SSHFS_TEST_REMOTE_ROOT="+s.userRoot)
	}
	runErr := runTo(cmd, r.log, r.log)
	f, err := os.Open(junit)
	if err != nil {
		r.err = fmt.Errorf("pytest wrote no results (%v): %v; see %s", runErr, err, r.log)
		return r
	}
	defer f.Close()
	r.res, r.err = conformance.ParseJUnit(f)
	r.took = time.Since(start)
	return r
}

// prepareSSHFSSuite copies sshfs's suite to dir, applies the adaptation in
// patch to the copy and adds the wrappers that pass the ssh config: sshfs
// where the suite expects its build (test/..), sftp first in PATH. It
// returns the copy and what it changed, for the log.
func prepareSSHFSSuite(src, patch, dir string) (string, string, error) {
	if err := os.CopyFS(dir, os.DirFS(src)); err != nil {
		return "", "", fmt.Errorf("copy sshfs's suite: %w", err)
	}
	out, err := exec.Command("patch", "-p0", "--fuzz=0", "--no-backup-if-mismatch", "-d", dir, "-i", patch).CombinedOutput()
	if err != nil {
		return "", "", fmt.Errorf("apply %s: %v: %s", patch, err, out)
	}
	sshfs, err1 := exec.LookPath("sshfs")
	sftp, err2 := exec.LookPath("sftp")
	if err1 != nil || err2 != nil {
		return "", "", fmt.Errorf("sshfs's suite needs sshfs and sftp: %v, %v", err1, err2)
	}
	wrappers := map[string]string{
		"sshfs":    fmt.Sprintf("#!/bin/sh\nexec %s -F \"$SSHFS_TEST_SSH_CONFIG\" \"$@\"\n", sshfs),
		"bin/sftp": fmt.Sprintf("#!/bin/sh\nexec %s -F \"$SSHFS_TEST_SSH_CONFIG\" \"$@\"\n", sftp),
	}
	os.Mkdir(filepath.Join(dir, "bin"), 0o755)
	var log bytes.Buffer
	diff, _ := os.ReadFile(patch)
	fmt.Fprintf(&log, "%s (applied: %s)\n", diff, bytes.TrimSpace(out))
	for _, name := range []string{"sshfs", "bin/sftp"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(wrappers[name]), 0o755); err != nil {
			return "", "", err
		}
		fmt.Fprintf(&log, "wrapper %s:\n%s", name, wrappers[name])
	}
	return dir, log.String(), nil
}

// groupCommand is exec.CommandContext in a process group of its own, so
// that cancelling kills the suite's children too (the .t scripts, sshfs).
func groupCommand(ctx context.Context, name string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 10 * time.Second
	return cmd
}

// runTo runs cmd with its standard output to the file stdout and its
// standard error to the file stderr (which may be the same).
func runTo(cmd *exec.Cmd, stdout, stderr string) error {
	o, err := os.Create(stdout)
	if err != nil {
		return err
	}
	defer o.Close()
	cmd.Stdout, cmd.Stderr = o, o
	if stderr != stdout {
		e, err := os.Create(stderr)
		if err != nil {
			return err
		}
		defer e.Close()
		cmd.Stderr = e
	}
	return cmd.Run()
}
