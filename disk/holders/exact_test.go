package holders

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// editFile rewrites a file of a fake tree.
func editFile(t *testing.T, p string, edit func(string) string) {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(edit(string(b))), 0o644); err != nil {
		t.Fatal(err)
	}
}

func pidsOf(r Report) []int {
	var out []int
	for _, p := range r.Processes {
		out = append(out, p.PID)
	}
	return out
}

// TestScanExact checks the cases where a path's text cannot be trusted, so
// the scanner must stat: a mount of the device covered by a later mount,
// and a device mounted nowhere (a filesystem detached by umount -l).
func TestScanExact(t *testing.T) {
	ids := basicStat()
	ids["proc/100/cwd"] = FileID{Dev: Dev{253, 0}} // really on things, whatever the path says

	t.Run("covered mount", func(t *testing.T) {
		s, fst := fakeScanner(t, "basic", ids)
		editFile(t, filepath.Join(s.ProcDir, "1", "mountinfo"), func(m string) string {
			return m + "50 1 0:60 / /mnt rw - tmpfs tmpfs rw\n" // covers /mnt/things
		})
		r, err := s.Scan(context.Background(), "things")
		if err != nil {
			t.Fatal(err)
		}
		if !fst.called("proc/100/cwd") || !slices.Contains(pidsOf(r), 100) {
			t.Errorf("got holders %v (stat of pid 100's cwd: %v), want 100 found by stat", pidsOf(r), fst.called("proc/100/cwd"))
		}
	})
	t.Run("detached filesystem", func(t *testing.T) {
		s, fst := fakeScanner(t, "basic", ids)
		editFile(t, filepath.Join(s.ProcDir, "1", "mountinfo"), func(m string) string {
			var keep []string
			for _, l := range strings.SplitAfter(m, "\n") {
				if !strings.Contains(l, " 253:0 ") {
					keep = append(keep, l)
				}
			}
			return strings.Join(keep, "")
		})
		// Nothing is stacked on things now (a device that is stacked on
		// cannot carry a mounted filesystem too).
		if err := os.Remove(filepath.Join(s.SysDir, "class", "block", "dm-0", "holders", "dm-1")); err != nil {
			t.Fatal(err)
		}
		// Pid 100's cwd now reads as a path on the root filesystem.
		if err := os.Remove(filepath.Join(s.ProcDir, "100", "cwd")); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink("/work", filepath.Join(s.ProcDir, "100", "cwd")); err != nil {
			t.Fatal(err)
		}
		r, err := s.Scan(context.Background(), "253:0")
		if err != nil {
			t.Fatal(err)
		}
		if !fst.called("proc/100/cwd") || !slices.Contains(pidsOf(r), 100) {
			t.Errorf("got holders %v, want 100 found by stat although no mount of 253:0 is left here", pidsOf(r))
		}
		if fst.called("proc/101/fd/5") {
			t.Error("stat'ed a file on the NFS mount")
		}
	})
}

// TestScanDeleted: the path of a deleted file ("/mnt/things/file
// (deleted)", or a memfd's "/memfd:NAME (deleted)") does not say which
// filesystem the file is on; the scanner stats it.
func TestScanDeleted(t *testing.T) {
	for _, c := range []struct {
		on   Dev
		want bool
	}{{Dev{253, 0}, true}, {Dev{0, 70}, false}} {
		ids := basicStat()
		ids["proc/101/fd/3"] = FileID{Dev: c.on}
		s, fst := fakeScanner(t, "basic", ids)
		r, err := s.Scan(context.Background(), "things")
		if err != nil {
			t.Fatal(err)
		}
		if got := slices.Contains(pidsOf(r), 101); got != c.want || !fst.called("proc/101/fd/3") {
			t.Errorf("deleted file on %s: pid 101 a holder: %v (stat'ed: %v), want %v", c.on, got, fst.called("proc/101/fd/3"), c.want)
		}
	}
}

// TestScanHungStat: a stat that never returns costs at most StatTimeout and
// leaves a warning; the scan finishes.
func TestScanHungStat(t *testing.T) {
	s, fst := fakeScanner(t, "basic", basicStat())
	hang := make(chan struct{})
	t.Cleanup(func() { close(hang) })
	s.Stat = func(p string) (FileID, error) {
		if strings.HasSuffix(p, "/proc/106/fd/3") {
			<-hang
		}
		return fst.stat(p)
	}
	s.StatTimeout = 100 * time.Millisecond
	begin := time.Now()
	r, err := s.Scan(context.Background(), "things")
	if err != nil {
		t.Fatal(err)
	}
	if d := time.Since(begin); d > 5*time.Second {
		t.Errorf("scan took %v with one hung stat, want about the stat timeout", d)
	}
	if slices.Contains(pidsOf(r), 106) {
		t.Error("pid 106 counted as a holder although its stat never answered")
	}
	if len(r.Warnings) != 1 || !strings.Contains(r.Warnings[0], "/x") || !strings.Contains(r.Warnings[0], "did not return") {
		t.Errorf("got warnings %q, want one about pid 106's fd 3 (/x)", r.Warnings)
	}
}
