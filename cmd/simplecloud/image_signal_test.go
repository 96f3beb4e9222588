package main

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"simplecloud/internal/testutil"
)

// TestImageDataInterrupt signals a real build at several moments (while
// mke2fs runs, while the payload is encrypted) and checks that it exits 1
// saying it was interrupted, with neither OUT nor the temporary filesystem
// left behind.
func TestImageDataInterrupt(t *testing.T) {
	if _, err := exec.LookPath("mke2fs"); err != nil {
		t.Skip("mke2fs (e2fsprogs) is not installed")
	}
	bin := buildOnce(t)
	dir := t.TempDir()
	src := filepath.Join(dir, "src")
	key := filepath.Join(dir, "key")
	if err := os.Mkdir(src, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(src, "f"), bytes.Repeat([]byte("data"), 4<<20), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(key, []byte("pass"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		sig   syscall.Signal
		after time.Duration
	}{
		{syscall.SIGTERM, 50 * time.Millisecond},
		{syscall.SIGINT, 300 * time.Millisecond},
		{syscall.SIGTERM, time.Second},
	} {
		out := filepath.Join(dir, "out.img")
		var stderr bytes.Buffer
		cmd := exec.Command(bin, "image", "data", out, "--size", "2G", "--from", src, "--key-file", key,
			"--pbkdf", "pbkdf2", "--pbkdf-force-iterations", "1000")
		cmd.Dir = dir
		cmd.Stderr = &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		// The build makes its first file after it set up its signal
		// handling: from then on, the moment of the signal is the test's
		// input (a signal before it, on a loaded machine, killed the
		// process the default way: no test of the handling).
		started := testutil.Poll(30*time.Second, func() error {
			ents, _ := os.ReadDir(dir)
			if len(ents) > 2 {
				return nil
			}
			return errors.New("no file made yet")
		})
		if started != nil {
			cmd.Process.Kill()
			cmd.Wait()
			t.Fatalf("%v: the build made no file in 30 s, stderr %q", tc.sig, stderr.String())
		}
		time.Sleep(tc.after) // the moment of the signal is the test's input, not a wait
		_ = cmd.Process.Signal(tc.sig)
		err := cmd.Wait()
		var ee *exec.ExitError
		if err == nil {
			t.Logf("%v after %v: the build finished first", tc.sig, tc.after)
			os.Remove(out)
			continue
		}
		if !errors.As(err, &ee) || ee.ExitCode() != exitError || !strings.Contains(stderr.String(), "interrupted") {
			t.Errorf("%v after %v: %v, stderr %q; want exit %d and \"interrupted\"", tc.sig, tc.after, err, stderr.String(), exitError)
		}
		ents, _ := os.ReadDir(dir)
		for _, e := range ents {
			if n := e.Name(); n != "src" && n != "key" {
				t.Errorf("%v after %v: %s left behind", tc.sig, tc.after, n)
			}
		}
	}
}
