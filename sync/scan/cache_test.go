package scan

import (
	"bytes"
	"errors"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func TestRecordRoundTrip(t *testing.T) {
	r := record{tag: HasherTag("sha256"), size: maxRecordSize, mtime: -5, ino: 1 << 60, written: 1700000000123000000}
	r.hash[0], r.hash[31] = 1, 2
	b, ok := r.encode()
	if !ok || len(b) != recordLen {
		t.Fatalf("encode: %d bytes, %v", len(b), ok)
	}
	got, err := decodeRecord(b)
	if err != nil || got != r {
		t.Errorf("decode(encode(r)): got %+v, %v; want %+v", got, err, r)
	}
	bad := map[string][]byte{
		"empty":   nil,
		"version": append([]byte{1}, b[1:]...),
		"short":   b[:len(b)-1],
		"long":    append(bytes.Clone(b), 0),
	}
	for name, in := range bad {
		if _, err := decodeRecord(in); !errors.Is(err, errRecord) {
			t.Errorf("decode %s: got %v, want errRecord", name, err)
		}
	}
	for name, r := range map[string]record{
		"size past 48 bits":   {size: maxRecordSize + 1},
		"negative size":       {size: -1},
		"written before 1970": {written: -int64(time.Millisecond)},
	} {
		if _, ok := r.encode(); ok {
			t.Errorf("encode %s: a record that does not fit was encoded", name)
		}
	}
	if HasherTag("a") == HasherTag("b") {
		t.Error("two hashers with one tag")
	}
}

func TestRecordValid(t *testing.T) {
	const w = int64(1_000_000_000_000)
	slack := int64(ctimeSlack)
	r := record{tag: HasherTag("h"), size: 10, mtime: 500, ino: 7, written: w}
	st := fileStat{size: 10, mtime: 500, ino: 7, ctime: w + 1000}
	now := w + int64(time.Hour)
	tests := []struct {
		name string
		edit func(r *record, st *fileStat, now *int64)
		want bool
	}{
		{"unchanged", func(*record, *fileStat, *int64) {}, true},
		{"ctime at the limit", func(_ *record, st *fileStat, _ *int64) { st.ctime = w + slack }, true},
		{"ctime before the write", func(_ *record, st *fileStat, _ *int64) { st.ctime = w - 1 }, true},
		{"other hasher", func(r *record, _ *fileStat, _ *int64) { r.tag = HasherTag("h2") }, false},
		{"size", func(_ *record, st *fileStat, _ *int64) { st.size = 11 }, false},
		{"mtime", func(_ *record, st *fileStat, _ *int64) { st.mtime = 501 }, false},
		{"inode (a copy with its attributes)", func(_ *record, st *fileStat, _ *int64) { st.ino = 8 }, false},
		// A same-size rewrite with mtime set back: only ctime shows it.
		{"ctime past the limit", func(_ *record, st *fileStat, _ *int64) { st.ctime = w + slack + 1 }, false},
		{"written in the future", func(_ *record, _ *fileStat, now *int64) { *now = w - slack - 1 }, false},
		{"written just now", func(_ *record, _ *fileStat, now *int64) { *now = w }, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, st, now := r, st, now
			tc.edit(&r, &st, &now)
			if got := r.valid("h", st, now); got != tc.want {
				t.Errorf("valid: got %v, want %v", got, tc.want)
			}
		})
	}
}

func TestRacy(t *testing.T) {
	const start = int64(10 * time.Second)
	win := 2 * time.Second
	tests := []struct {
		mtime, ctime int64
		ours         bool
		want         bool
	}{
		{int64(7 * time.Second), int64(7 * time.Second), false, false},
		{int64(8*time.Second) - 1, int64(8*time.Second) - 1, false, false},
		{int64(8 * time.Second), int64(7 * time.Second), false, true},
		{int64(7 * time.Second), int64(8 * time.Second), false, true},
		{int64(7 * time.Second), start, false, true},
		{int64(7 * time.Second), start, true, false},                   // ctime from our own record
		{int64(9 * time.Second), int64(7 * time.Second), true, true},   // mtime still counts
		{int64(20 * time.Second), int64(7 * time.Second), false, true}, // mtime in the future
	}
	for _, tc := range tests {
		if got := racy(fileStat{mtime: tc.mtime, ctime: tc.ctime}, start, win, tc.ours); got != tc.want {
			t.Errorf("racy(mtime %d, ctime %d, ours %v): got %v, want %v", tc.mtime, tc.ctime, tc.ours, got, tc.want)
		}
	}
}

func TestKeptAfterWrite(t *testing.T) {
	const w = int64(5_000_000_000)
	before := fileStat{size: 3, mtime: 100, ctime: 200, ino: 9}
	tests := []struct {
		name  string
		after fileStat
		want  bool
	}{
		{"only the ctime of the write", fileStat{size: 3, mtime: 100, ctime: w + 5, ino: 9}, true},
		{"write took too long", fileStat{size: 3, mtime: 100, ctime: w + int64(ctimeSlack) + 1, ino: 9}, false},
		{"size changed", fileStat{size: 4, mtime: 100, ctime: w, ino: 9}, false},
		{"mtime changed", fileStat{size: 3, mtime: 101, ctime: w, ino: 9}, false},
	}
	for _, tc := range tests {
		if got := keptAfterWrite(before, tc.after, w); got != tc.want {
			t.Errorf("%s: got %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestCacheOff(t *testing.T) {
	for err, want := range map[error]bool{
		unix.ENOTSUP: true, unix.EROFS: true, unix.EDQUOT: true, unix.ENOSPC: true,
		unix.EACCES: false, unix.EPERM: false, unix.ENODATA: false, unix.ERANGE: false,
	} {
		if got := cacheOff(err); got != want {
			t.Errorf("cacheOff(%v): got %v, want %v", err, got, want)
		}
	}
}

func TestCompareItems(t *testing.T) {
	// Sorted by the keys "a", "a!", "a-b", "a.txt", "a/" (subtree), "a0", "b".
	want := []item{{name: "a"}, {name: "a!"}, {name: "a-b"}, {name: "a.txt"}, {name: "a", sub: true}, {name: "a0"}, {name: "b"}}
	for i := range want {
		for j := range want {
			c := compareItems(want[i], want[j])
			if (c < 0) != (i < j) || (c == 0) != (i == j) {
				t.Errorf("compareItems(%+v, %+v): got %d, want the sign of %d", want[i], want[j], c, i-j)
			}
		}
	}
}
