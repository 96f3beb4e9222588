package client

import (
	"testing"
	"time"

	"simplecloud/sync/core"
)

func TestProgressLine(t *testing.T) {
	for _, c := range []struct {
		s    ProgressSnapshot
		want string
	}{
		{ProgressSnapshot{Files: 10, Bytes: 500}, "0/10 files  0 B/500 B"},
		{ProgressSnapshot{Files: 10001, FilesDone: 1234, Bytes: 1 << 30, BytesDone: 256 << 20, Elapsed: 4 * time.Second},
			"1234/10001 files  256 MiB/1.00 GiB  64.0 MiB/s  ETA 0:12"},
		{ProgressSnapshot{Files: 3, FilesDone: 3, Bytes: 3 << 20, BytesDone: 3 << 20, Elapsed: time.Second},
			"3/3 files  3.00 MiB/3.00 MiB  3.00 MiB/s"},
		{ProgressSnapshot{Files: 1, Bytes: 100 << 30, BytesDone: 1 << 20, Elapsed: time.Second},
			"0/1 files  1.00 MiB/100 GiB  1.00 MiB/s  ETA 28:26:39"},
	} {
		if got := c.s.Line(); got != c.want {
			t.Errorf("Line(%+v):\n got %q\nwant %q", c.s, got, c.want)
		}
	}
}

// TestProgressCounts: begin counts the writes of both sides and their
// sizes (a link counts as a file of no bytes), the wire counter starts at
// zero, and done files add up.
func TestProgressCounts(t *testing.T) {
	var wire int64 = 1000
	local := mkTree(t, map[string]core.Entry{
		"b": {Kind: core.File, Size: 50}, "l": {Kind: core.Symlink, Target: "a"}, "d": {Kind: core.Dir}})
	remote := mkTree(t, map[string]core.Entry{"a": {Kind: core.File, Size: 100}})
	p := core.Reconcile(core.Tree{}, local, remote, core.Options{})
	var g Progress
	g.begin(p.Counts(core.Local), p.Counts(core.Remote), func() int64 { return wire })
	wire += 70
	g.fileDone()
	s := g.Snapshot()
	if !s.Active || s.Files != 3 || s.Bytes != 150 || s.FilesDone != 1 || s.BytesDone != 70 {
		t.Errorf("got %+v, want active, 1/3 files, 70/150 bytes", s)
	}
	if s.UpFiles != 2 || s.UpBytes != 50 || s.DownFiles != 1 || s.DownBytes != 100 {
		t.Errorf("got up %d files %d bytes, down %d files %d bytes; want 2, 50, 1, 100", s.UpFiles, s.UpBytes, s.DownFiles, s.DownBytes)
	}
	g.end()
	if g.Snapshot().Active {
		t.Error("active after end")
	}
}
