package testutil

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"testing"
	"time"
)

// fakeTB records what a helper did to its test. Its Fatal and Skip end the
// calling goroutine, as testing's do; every other method of testing.TB but
// Helper panics (the embedded interface is nil).
type fakeTB struct {
	testing.TB
	failed, skipped bool
	msg             string
}

func (f *fakeTB) Helper() {}

func (f *fakeTB) Fatal(args ...any) {
	f.failed, f.msg = true, fmt.Sprint(args...)
	runtime.Goexit()
}

func (f *fakeTB) Skip(args ...any) {
	f.skipped, f.msg = true, fmt.Sprint(args...)
	runtime.Goexit()
}

// observe runs helper on a goroutine of its own, as the testing package
// runs a test, and returns what it did to the test and whether it returned.
func observe(helper func(testing.TB)) (f *fakeTB, returned bool) {
	f = &fakeTB{}
	done := make(chan struct{})
	go func() {
		defer close(done)
		helper(f)
		returned = true
	}()
	<-done
	return f, returned
}

func TestLacks(t *testing.T) {
	look := func(name string) (string, error) {
		if name == "losetup" || name == "mount" {
			return "/usr/sbin/" + name, nil
		}
		return "", exec.ErrNotFound
	}
	for _, c := range []struct {
		name  string
		euid  int
		tools []string
		want  []string // substrings of the reason; none: nothing lacks
	}{
		{"root, no tools", 0, nil, nil},
		{"root with the tools", 0, []string{"losetup", "mount"}, nil},
		{"not root", 1000, []string{"losetup"}, []string{"needs root", "uid 1000"}},
		{"root without two tools", 0, []string{"losetup", "cryptsetup", "mount", "dmsetup"}, []string{"needs cryptsetup, dmsetup on PATH"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := lacks(c.euid, look, c.tools)
			if (got == "") != (len(c.want) == 0) {
				t.Fatalf("got %q, want a reason with %q", got, c.want)
			}
			for _, w := range c.want {
				if !strings.Contains(got, w) {
					t.Errorf("got %q, want it to contain %q", got, w)
				}
			}
		})
	}
}

func TestNeedRoot(t *testing.T) {
	root := os.Geteuid() == 0
	f, returned := observe(func(tb testing.TB) { NeedRoot(tb, "sh") })
	if f.skipped == root || returned == !root {
		t.Errorf("as uid %d with sh on PATH: got skipped %v (%q), returned %v", os.Geteuid(), f.skipped, f.msg, returned)
	}
	f, returned = observe(func(tb testing.TB) { NeedRoot(tb, "sh", "no-such-program-here") })
	if !f.skipped || returned || f.failed {
		t.Fatalf("without a program: got skipped %v, returned %v, failed %v; want skipped only", f.skipped, returned, f.failed)
	}
	if want := "no-such-program-here"; root && !strings.Contains(f.msg, want) {
		t.Errorf("got %q, want the missing program named", f.msg)
	}
}

func TestEventuallyReturnsOnceCondHolds(t *testing.T) {
	calls := 0
	start := time.Now()
	f, returned := observe(func(tb testing.TB) {
		Eventually(tb, 10*time.Second, func() error {
			if calls++; calls < 3 {
				return errors.New("not yet")
			}
			return nil
		})
	})
	if f.failed || !returned || calls != 3 {
		t.Errorf("got failed %v (%q), returned %v after %d calls; want a return after 3", f.failed, f.msg, returned, calls)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("took %v for a condition true at the third call, want the first pauses short", d)
	}
}

func TestEventuallyFailsWithTheLastError(t *testing.T) {
	calls := 0
	const timeout = 300 * time.Millisecond
	start := time.Now()
	f, returned := observe(func(tb testing.TB) {
		Eventually(tb, timeout, func() error { calls++; return fmt.Errorf("seen %d", calls) })
	})
	took := time.Since(start)
	if !f.failed || returned {
		t.Fatalf("got failed %v, returned %v; want the test failed and stopped", f.failed, returned)
	}
	if want := fmt.Sprintf("after %v: seen %d", timeout, calls); f.msg != want {
		t.Errorf("got message %q, want %q", f.msg, want)
	}
	if took < timeout || took > timeout+maxWait+200*time.Millisecond {
		t.Errorf("gave up after %v, want about %v", took, timeout)
	}
	// Backoff: 1, 2, 4 ... 64 ms, then every 100 ms: about 9 calls, not
	// thousands, and at least one at the deadline.
	if calls < 5 || calls > 20 {
		t.Errorf("got %d calls in %v, want 5 to 20", calls, timeout)
	}
}

func TestEventuallyCondMayStopTheTest(t *testing.T) {
	calls := 0
	f, returned := observe(func(tb testing.TB) {
		Eventually(tb, 10*time.Second, func() error { calls++; tb.Fatal("scan failed"); return nil })
	})
	if !f.failed || returned || calls != 1 || f.msg != "scan failed" {
		t.Errorf("got failed %v (%q), returned %v, %d calls; want the cond's own failure, once", f.failed, f.msg, returned, calls)
	}
}

func TestPoll(t *testing.T) {
	if err := Poll(time.Second, func() error { return nil }); err != nil {
		t.Errorf("got %v for a condition that holds, want nil", err)
	}
	errLate := errors.New("late")
	if err := Poll(20*time.Millisecond, func() error { return errLate }); !errors.Is(err, errLate) {
		t.Errorf("got %v, want the condition's error", err)
	}
}

// stepChildEnv makes TestStepChild run: it is the test TestStep runs in a
// child process of the test binary, to see its output.
const stepChildEnv = "TESTUTIL_STEP_CHILD"

func TestStepChild(t *testing.T) {
	if os.Getenv(stepChildEnv) != "1" {
		t.Skip("run by TestStep")
	}
	Step(t, "first", func(t *testing.T) {})
	Step(t, "skipped", func(t *testing.T) { t.Skip("nothing to do") })
	Step(t, "failing", func(t *testing.T) { t.Error("broken") })
	Step(t, "never", func(t *testing.T) { t.Log("ran after a failed step") })
}

func TestStep(t *testing.T) {
	cmd := exec.Command(os.Args[0], "-test.run", "^TestStepChild$", "-test.v")
	cmd.Env = append(os.Environ(), stepChildEnv+"=1")
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) {
		t.Fatalf("got %v, want the child test to fail\n%s", err, out)
	}
	for _, want := range []string{
		"--- PASS: TestStepChild/first", "--- SKIP: TestStepChild/skipped", "--- FAIL: TestStepChild/failing",
		`step "failing" failed; the steps after it build on it and do not run`,
	} {
		if !strings.Contains(string(out), want) {
			t.Errorf("the child's output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(string(out), "never") {
		t.Errorf("a step ran after a failed one:\n%s", out)
	}
}
