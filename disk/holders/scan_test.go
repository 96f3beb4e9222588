package holders

import (
	"bytes"
	"context"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite golden files")

func basicStat() map[string]FileID {
	return map[string]FileID{
		"proc/103/fd/0": {Dev: Dev{0, 5}, RDev: Dev{253, 0}, Block: true},
		"proc/103/fd/1": {Dev: Dev{0, 5}, RDev: Dev{8, 0}, Block: true},
		"proc/106/fd/3": {Dev: Dev{253, 1}},
		"proc/101/fd/3": {Dev: Dev{253, 0}}, // "/mnt/things/file (deleted)"
	}
}

func holdKinds(p Process) []string {
	var out []string
	for _, h := range p.Holds {
		out = append(out, h.Kind+" "+h.Path)
	}
	return out
}

func TestScanBasic(t *testing.T) {
	s, fst := fakeScanner(t, "basic", basicStat())
	r, err := s.Scan(context.Background(), "things")
	if err != nil {
		t.Fatal(err)
	}
	if r.Dev != (Dev{253, 0}) || r.Name != "dm-0" || r.DMName != "things" {
		t.Errorf("got device %s %s %q, want 253:0 dm-0 \"things\"", r.Dev, r.Name, r.DMName)
	}
	want := map[int][]string{
		100: {"cwd /mnt/things/work"},
		101: {"fd /mnt/things/file"},
		102: {"map /mnt/things/lib.so"},
		103: {"fd /dev/dm-0"},
		104: {"mount-ns /data"},
		105: {"fd /mnt/things/inner/f"},
		106: {"fd /x"},
	}
	got := map[int][]string{}
	for _, p := range r.Processes {
		got[p.PID] = holdKinds(p)
	}
	for pid, w := range want {
		if !slices.Equal(got[pid], w) {
			t.Errorf("pid %d: got holds %q, want %q", pid, got[pid], w)
		}
	}
	for pid, g := range got {
		if want[pid] == nil {
			t.Errorf("pid %d: got holds %q, want none", pid, g)
		}
	}
	if fst.called("proc/101/fd/5") {
		t.Error("stat'ed a file on the NFS mount; files on network mounts must never be stat'ed")
	}
	if fst.called("proc/100/cwd") {
		t.Error("stat'ed a cwd whose path is certain from the mount table")
	}
	for _, p := range r.Processes {
		if p.PID == 100 && (p.Unit != "backup.service" || p.Command != "bash -c backup" || p.StartTime != 5555 || p.User != "4242") {
			t.Errorf("pid 100: got unit %q command %q start %d user %q, want backup.service, \"bash -c backup\", 5555, 4242",
				p.Unit, p.Command, p.StartTime, p.User)
		}
		if p.PID == 101 && p.Unit != "session-3.scope" {
			t.Errorf("pid 101: got unit %q, want session-3.scope", p.Unit)
		}
	}
	var mounts []string
	for _, m := range r.Mounts {
		mounts = append(mounts, m.MountPoint+" "+m.Dev.String())
	}
	if w := []string{"/mnt/things 253:0", "/mnt/things/inner 7:0", "/mnt/things/tmp 0:70", "/mnt/stack 253:1", "/data 253:0"}; !slices.Equal(mounts, w) {
		t.Errorf("got mounts %q, want %q", mounts, w)
	}
	if len(r.Mounts) == 5 && !slices.Equal(r.Mounts[4].PIDs, []int{104}) {
		t.Errorf("got pids %v in the second namespace, want [104]", r.Mounts[4].PIDs)
	}
	if len(r.Mounts) == 5 && (!r.Mounts[2].Submount || r.Mounts[2].Under != (Dev{253, 0}) || r.Mounts[1].Submount) {
		t.Errorf("got %+v and %+v, want only the tmpfs as a submount inside 253:0", r.Mounts[1], r.Mounts[2])
	}
	if len(r.Swaps) != 1 || r.Swaps[0].Path != "/mnt/things/swapfile" {
		t.Errorf("got swaps %+v, want /mnt/things/swapfile", r.Swaps)
	}
	if len(r.Loops) != 1 || r.Loops[0].Name != "loop0" || r.Loops[0].On != (Dev{253, 0}) {
		t.Errorf("got loops %+v, want loop0 on 253:0", r.Loops)
	}
	if len(r.Stacked) != 1 || r.Stacked[0].DMName != "stack" || r.Stacked[0].Kind != StackedDM {
		t.Errorf("got stacked %+v, want dm-1 (stack)", r.Stacked)
	}
	if !slices.Equal(r.Kernel, []string{"nfsd export /mnt/things/export"}) {
		t.Errorf("got kernel users %q, want the nfsd export", r.Kernel)
	}
	golden(t, "basic", r)
}

func golden(t *testing.T, name string, r Report) {
	t.Helper()
	var buf bytes.Buffer
	if err := WriteTable(&buf, r); err != nil {
		t.Fatal(err)
	}
	buf.WriteString("---- json\n")
	if err := WriteJSON(&buf, r); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.WriteFile(p, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if got := buf.String(); got != string(want) {
		t.Errorf("got output\n%s\nwant (%s)\n%s", got, p, want)
	}
}

func TestScanTargets(t *testing.T) {
	s, _ := fakeScanner(t, "basic", basicStat())
	for _, tc := range []struct{ target, want string }{
		{"things", "253:0"},
		{"253:0", "253:0"},
		{"/mnt/things", "253:0"},
		{"/mnt/things/", "253:0"},
		{"/mnt/stack", "253:1"},
		{filepath.Join(s.DevDir, "mapper", "stack"), "253:1"},
		{filepath.Join(s.DevDir, "loop0"), "7:0"},
		{"dm-1", "253:1"},
	} {
		r, err := s.Scan(context.Background(), tc.target)
		if err != nil {
			t.Errorf("%s: %v", tc.target, err)
			continue
		}
		if r.Dev.String() != tc.want {
			t.Errorf("%s: got device %s, want %s", tc.target, r.Dev, tc.want)
		}
	}
	if _, err := s.Scan(context.Background(), "nosuch"); err == nil || !strings.Contains(err.Error(), "resolve target") {
		t.Errorf("got error %v for an unknown target, want a resolve error", err)
	}
}

// TestScanLoopOnly scans the loop device: only what lies on it holds it,
// and the things volume below it is not part of the report.
func TestScanLoopOnly(t *testing.T) {
	s, _ := fakeScanner(t, "basic", basicStat())
	r, err := s.Scan(context.Background(), "7:0")
	if err != nil {
		t.Fatal(err)
	}
	var pids []int
	for _, p := range r.Processes {
		pids = append(pids, p.PID)
	}
	if !slices.Equal(pids, []int{105}) {
		t.Errorf("got holder pids %v, want [105]", pids)
	}
	if len(r.Mounts) != 1 || r.Mounts[0].MountPoint != "/mnt/things/inner" {
		t.Errorf("got mounts %+v, want /mnt/things/inner", r.Mounts)
	}
}
