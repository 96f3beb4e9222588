package client

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestEngineRaceLeftAlone changes both sides between the plan and its
// execution: every path the plan would overwrite or delete was changed
// meanwhile, on the side it would change. Nothing changed meanwhile may
// be overwritten or deleted (compare-and-swap, locally by a fresh stat
// and hash, on the server by the request's Expect); the run must not
// claim to have converged; the next run keeps both versions of each.
func TestEngineRaceLeftAlone(t *testing.T) {
	p := newPair(t)
	srv := filepath.Join(p.server, "Sync")
	for _, n := range []string{"down", "up", "gone-here", "gone-there"} {
		write(t, filepath.Join(p.local, n), n+" v1")
	}
	p.mustRun()
	p.same()
	write(t, filepath.Join(srv, "down"), "down v2 from the server") // plan: download
	write(t, filepath.Join(p.local, "up"), "up v2 local")           // plan: upload
	os.Remove(filepath.Join(srv, "gone-here"))                      // plan: delete locally
	os.Remove(filepath.Join(p.local, "gone-there"))                 // plan: delete on the server
	race := map[string]string{
		filepath.Join(p.local, "down"):      "down v3 edited locally meanwhile",
		filepath.Join(srv, "up"):            "up v3 edited on the server meanwhile",
		filepath.Join(p.local, "gone-here"): "gone-here v3 edited locally meanwhile",
		filepath.Join(srv, "gone-there"):    "gone-there v3 edited on the server meanwhile",
	}
	s, err := p.run(func(o *Options) {
		o.afterPlan = func() {
			for f, data := range race {
				write(t, f, data)
			}
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	if s.Converged || s.Failed != 4 {
		t.Errorf("got %+v, want 4 actions left for the next run and not converged", s)
	}
	for f, data := range race {
		if b, err := os.ReadFile(f); err != nil || string(b) != data {
			t.Errorf("%s: got %q (%v), want the edit made meanwhile %q", f, b, err, data)
		}
	}
	s = p.mustRun()
	got := p.same()
	for _, data := range race {
		if !strings.Contains(got, data) {
			t.Errorf("after the next run %q is lost: %s", data, got)
		}
	}
	if !strings.Contains(got, "down v2 from the server") || !strings.Contains(got, "up v2 local") {
		t.Errorf("after the next run an edit made before the plan is lost: %s", got)
	}
	t.Logf("next run: %+v", s)
}

// TestEngineSyncsDirectories checks that the directories a run renamed
// files into are fsynced before the ancestor that records them is saved.
func TestEngineSyncsDirectories(t *testing.T) {
	p := newPair(t)
	srv := filepath.Join(p.server, "Sync")
	write(t, filepath.Join(srv, "a/x"), "x")
	write(t, filepath.Join(srv, "b/c/y"), "y")
	write(t, filepath.Join(srv, "top"), "top")
	var got []string
	if _, err := p.run(func(o *Options) { o.synced = func(d []string) { got = d } }); err != nil {
		t.Fatal(err)
	}
	want := []string{"", "a", "b", "b/c"} // small files: written beside their destination
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("got %q fsynced, want %q", got, want)
	}
}

// TestEngineChangedDuringRunNotConverged edits a file the run just
// downloaded, after the run's actions and before it ends: the run must
// not report both sides equal.
func TestEngineChangedDuringRunNotConverged(t *testing.T) {
	p := newPair(t)
	write(t, filepath.Join(p.server, "Sync", "f"), "from the server")
	s, err := p.run(func(o *Options) {
		o.synced = func([]string) { write(t, filepath.Join(p.local, "f"), "edited at once, longer") }
	})
	if err != nil || s.Converged || s.Downloaded != 1 {
		t.Errorf("got %+v, %v, want 1 download and not converged", s, err)
	}
	if s := p.mustRun(); !s.Converged || s.Uploaded != 1 {
		t.Errorf("next run: got %+v, want the edit uploaded", s)
	}
	p.same()
}

// TestEngineDryRunNewFolder: a dry run of a first sync into a folder that
// does not exist yet says so, makes nothing and does not call it unsafe.
func TestEngineDryRunNewFolder(t *testing.T) {
	p := newPair(t)
	write(t, filepath.Join(p.server, "Sync", "f"), "f")
	_, err := p.run(func(o *Options) { o.DryRun = true })
	if err == nil || errors.Is(err, ErrUnsafe) || !strings.Contains(err.Error(), "does not exist yet") {
		t.Errorf("got %v, want a plain 'does not exist yet'", err)
	}
	if _, err := os.Stat(p.local); !os.IsNotExist(err) {
		t.Error("a dry run made the folder")
	}
}

// TestEngineCleansStaleTemp: the temporary files an interrupted run left
// are removed by the next run once they are a day unwritten; a fresh one
// (a download in progress, or one cut short that a run will continue)
// stays.
func TestEngineCleansStaleTemp(t *testing.T) {
	p := newPair(t)
	p.mustRun()
	tmp := filepath.Join(p.local, ".simplecloud", "tmp")
	old, fresh := filepath.Join(tmp, ".simplecloud-tmp-old"), filepath.Join(tmp, ".simplecloud-tmp-fresh")
	// And beside their destinations, where small downloads are written.
	oldBeside, freshBeside := filepath.Join(p.local, "d", downloadPrefix+"old"), filepath.Join(p.local, "d", downloadPrefix+"fresh")
	write(t, old, "left by a killed run")
	write(t, fresh, "being written")
	write(t, oldBeside, "left by a killed run")
	write(t, freshBeside, "being written")
	then := time.Now().Add(-2 * staleTemp)
	os.Chtimes(old, then, then)
	os.Chtimes(oldBeside, then, then)
	p.mustRun()
	for _, f := range []string{old, oldBeside} {
		if _, err := os.Stat(f); !os.IsNotExist(err) {
			t.Errorf("the stale temporary file %s is still there (%v)", f, err)
		}
	}
	for _, f := range []string{fresh, freshBeside} {
		if _, err := os.Stat(f); err != nil {
			t.Errorf("the fresh temporary file %s is gone: %v", f, err)
		}
	}
}
