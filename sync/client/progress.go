package client

import (
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"simplecloud/sync/core"
)

// Progress follows a run's transfers as they happen, for a progress line:
// the files and bytes the plan writes on either side, how many files are
// done, and the bytes on the wire so far. One Progress may follow run
// after run (the continuous mode); its methods are safe for concurrent
// use.
type Progress struct {
	mu     sync.Mutex
	active bool
	start  time.Time
	files  int64
	bytes  int64
	up     core.Counts  // of the files and bytes: written on the server
	down   core.Counts  // and here
	wire   func() int64 // bytes on the wire since the run's actions began
	done   atomic.Int64
}

// ProgressSnapshot is a Progress at one moment.
type ProgressSnapshot struct {
	Active    bool // a run is carrying out its plan
	Files     int64
	FilesDone int64
	Bytes     int64 // of the files written (their sizes)
	BytesDone int64 // on the wire (less than Bytes for deltas)
	Elapsed   time.Duration
	// Of Files and Bytes, what goes up to the server and down from it.
	UpFiles, UpBytes, DownFiles, DownBytes int64
}

// begin starts following a run whose plan downloads down and uploads up
// (core.Plan.Counts); wire returns the bytes on the wire so far.
func (g *Progress) begin(down, up core.Counts, wire func() int64) {
	if g == nil {
		return
	}
	files, bytes := int64(down.Written+up.Written), down.Bytes+up.Bytes
	base := wire()
	g.mu.Lock()
	g.active, g.start, g.files, g.bytes = true, time.Now(), files, bytes
	g.up, g.down = up, down
	g.wire = func() int64 { return wire() - base }
	g.done.Store(0)
	g.mu.Unlock()
}

// fileDone counts a written file.
func (g *Progress) fileDone() {
	if g != nil {
		g.done.Add(1)
	}
}

// end marks the run's actions finished.
func (g *Progress) end() {
	if g == nil {
		return
	}
	g.mu.Lock()
	g.active = false
	g.mu.Unlock()
}

// Snapshot returns where the run is.
func (g *Progress) Snapshot() ProgressSnapshot {
	g.mu.Lock()
	defer g.mu.Unlock()
	s := ProgressSnapshot{Active: g.active, Files: g.files, Bytes: g.bytes, FilesDone: g.done.Load(),
		UpFiles: int64(g.up.Written), UpBytes: g.up.Bytes, DownFiles: int64(g.down.Written), DownBytes: g.down.Bytes}
	if !g.start.IsZero() {
		s.Elapsed = time.Since(g.start)
	}
	if g.wire != nil {
		s.BytesDone = min(g.wire(), g.bytes)
	}
	return s
}

// Line formats s as the progress line: files and bytes done of all, the
// rate so far and the time left at that rate, as rsync's
// --info=progress2 does.
func (s ProgressSnapshot) Line() string {
	line := fmt.Sprintf("%d/%d files  %s/%s", s.FilesDone, s.Files, size(s.BytesDone), size(s.Bytes))
	secs := s.Elapsed.Seconds()
	if secs <= 0 {
		return line
	}
	rate := float64(s.BytesDone) / secs
	line += fmt.Sprintf("  %s/s", size(int64(rate)))
	if left := s.Bytes - s.BytesDone; rate > 0 && left > 0 {
		line += "  ETA " + clock(time.Duration(float64(left)/rate*float64(time.Second)))
	}
	return line
}

// size formats n bytes in binary units, three significant digits.
func size(n int64) string {
	const units = "KMGTPE"
	if n < 1024 {
		return fmt.Sprintf("%d B", n)
	}
	f, i := float64(n)/1024, 0
	for f >= 1024 && i < len(units)-1 {
		f /= 1024
		i++
	}
	switch {
	case f < 10:
		return fmt.Sprintf("%.2f %ciB", f, units[i])
	case f < 100:
		return fmt.Sprintf("%.1f %ciB", f, units[i])
	}
	return fmt.Sprintf("%.0f %ciB", f, units[i])
}

// clock formats d as H:MM:SS, or M:SS under an hour.
func clock(d time.Duration) string {
	t := int64(d.Round(time.Second) / time.Second)
	if t >= 3600 {
		return fmt.Sprintf("%d:%02d:%02d", t/3600, t/60%60, t%60)
	}
	return fmt.Sprintf("%d:%02d", t/60, t%60)
}
