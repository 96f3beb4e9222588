package testutil

import "testing"

// Step runs f as the subtest name of t, so that a failure names its step,
// and stops t when the step fails: the steps of a long test (a VM test that
// installs, then reboots, then unlocks) build on the ones before, and the
// rest would only fail again for the same cause. A skipped step does not
// stop t.
func Step(t *testing.T, name string, f func(t *testing.T)) {
	t.Helper()
	if !t.Run(name, f) {
		t.Fatalf("step %q failed; the steps after it build on it and do not run", name)
	}
}
