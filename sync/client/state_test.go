package client

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"simplecloud/sync/core"
)

// bigTree returns a tree shaped like a home directory: n entries in
// directories of 20, names of about 20 bytes, a symbolic link every 50.
func bigTree(t testing.TB, n int) core.Tree {
	var b core.Builder
	b.Grow(n)
	b.Add("projects", core.Entry{Kind: core.Dir, Mode: 0o755, MTime: 1_700_000_000_000_000_000})
	d := ""
	for i := 1; i < n; i++ {
		base := int64(1_700_000_000_000_000_000)
		switch {
		case i%20 == 1:
			d = fmt.Sprintf("projects/dir-%05d", i/20)
			b.Add(d, core.Entry{Kind: core.Dir, Mode: 0o755, MTime: base + int64(i)})
		case i%50 == 0:
			b.Add(fmt.Sprintf("%s/link-%06d", d, i), core.Entry{Kind: core.Symlink, Target: "../target", MTime: base})
		default:
			e := core.Entry{Kind: core.File, Mode: 0o644, Size: int64(i * 37 % 100000), MTime: base + int64(i)*1_000_003}
			e.Hash[0], e.Hash[1], e.Hash[31] = byte(i), byte(i>>8), byte(i>>16)
			b.Add(fmt.Sprintf("%s/file-%06d.txt", d, i), e)
		}
	}
	tr, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

// TestStateLarge measures the ancestor file at 200,000 entries (target:
// well under 100 bytes an entry) and checks that every field, mtimes
// included, comes back.
func TestStateLarge(t *testing.T) {
	tr := bigTree(t, 200_000)
	sp := filepath.Join(t.TempDir(), "s")
	st := &state{Local: "/home/a/docs", Remote: "a@h:docs", FS: FSID{Dev: 2049, FSID: 1 << 40}}
	if err := saveState(sp, st, tr); err != nil {
		t.Fatal(err)
	}
	fi, _ := os.Stat(sp)
	per := float64(fi.Size()) / float64(tr.Len())
	t.Logf("state of %d entries: %d bytes, %.1f bytes per entry", tr.Len(), fi.Size(), per)
	if per > 60 {
		t.Errorf("got %.1f bytes per entry, want at most 60", per)
	}
	got, back, err := loadState(sp, st.Local, st.Remote)
	if err != nil || *got != *st || back.Len() != tr.Len() {
		t.Fatalf("round trip: %+v, %d entries, %v", got, back.Len(), err)
	}
	for i := range tr.Len() {
		p, e := tr.At(i)
		if g := back.Lookup(p); g != e {
			t.Fatalf("%s: got %v, want %v", p, g, e)
		}
	}
}

// TestStateRefusesDamage checks that no damaged or foreign file is
// taken for an ancestor: a flipped byte anywhere, a truncation, another
// version or another sync's file.
func TestStateRefusesDamage(t *testing.T) {
	dir := t.TempDir()
	sp := filepath.Join(dir, "s")
	if err := saveState(sp, &state{Local: "/l", Remote: "r"}, bigTree(t, 100)); err != nil {
		t.Fatal(err)
	}
	good, _ := os.ReadFile(sp)
	flip := func(i int) []byte {
		c := append([]byte(nil), good...)
		c[i] ^= 0x40
		return c
	}
	cases := []struct {
		name          string
		data          []byte
		local, remote string
	}{
		{"truncated", good[:len(good)-40], "/l", "r"},
		{"empty", nil, "/l", "r"},
		{"another version", flip(len(stateMagic)), "/l", "r"},
		{"not a state file", []byte("this is not a state file, only some text......................."), "/l", "r"},
		{"another sync's file", good, "/other", "r"},
	}
	for i := len(stateMagic) + 1; i < len(good); i += 7 {
		cases = append(cases, struct {
			name          string
			data          []byte
			local, remote string
		}{fmt.Sprintf("byte %d flipped", i), flip(i), "/l", "r"})
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			os.WriteFile(sp, c.data, 0o600)
			s, _, err := loadState(sp, c.local, c.remote)
			if s != nil || err == nil {
				t.Errorf("got %+v, %v, want an error", s, err)
			}
			// A damaged byte is reported as damage, whatever the
			// decoding made of it.
			if strings.HasPrefix(c.name, "byte") && (err == nil || !strings.Contains(err.Error(), "checksum mismatch")) {
				t.Errorf("got %v, want a checksum mismatch", err)
			}
		})
	}
}

// TestStateLongFields checks a round trip of entries longer than the
// window the file is read through (a link's target, a path), among
// entries that straddle the window's edges.
func TestStateLongFields(t *testing.T) {
	var b core.Builder
	long := strings.Repeat("x", window+window/2)
	b.Add("a", core.Entry{Kind: core.Dir, Mode: 0o755})
	for i := range 3000 {
		b.Add(fmt.Sprintf("a/f%05d", i), core.Entry{Kind: core.File, Mode: 0o644, Size: int64(i), MTime: int64(i) << 20})
	}
	b.Add("a/g-link", core.Entry{Kind: core.Symlink, Target: long + "/t"})
	b.Add("a/"+long, core.Entry{Kind: core.File, Mode: 0o600, Size: 7, Hash: core.Digest{7}})
	b.Add("b", core.Entry{Kind: core.Symlink, Target: "a/g-link"})
	tr, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	sp := filepath.Join(t.TempDir(), "s")
	if err := saveState(sp, &state{Local: "/l", Remote: "r"}, tr); err != nil {
		t.Fatal(err)
	}
	_, back, err := loadState(sp, "/l", "r")
	if err != nil || !back.Identical(tr) {
		t.Fatalf("round trip: %d entries of %d, identical %v, %v", back.Len(), tr.Len(), back.Identical(tr), err)
	}
}

func TestFSIDSame(t *testing.T) {
	for _, c := range []struct {
		a, b FSID
		want bool
	}{
		{FSID{Dev: 10, FSID: 1}, FSID{Dev: 10, FSID: 1}, true},
		{FSID{Dev: 10, FSID: 1}, FSID{Dev: 11, FSID: 1}, true}, // a dm or NVMe device numbered anew at boot
		{FSID{Dev: 10, FSID: 1}, FSID{Dev: 10, FSID: 2}, false},
		{FSID{Dev: 10}, FSID{Dev: 10}, true},
		{FSID{Dev: 10}, FSID{Dev: 11}, false}, // tmpfs: only st_dev tells
		{FSID{Dev: 10}, FSID{Dev: 10, FSID: 1}, false},
	} {
		if got := c.a.Same(c.b); got != c.want {
			t.Errorf("%+v.Same(%+v): got %v, want %v", c.a, c.b, got, c.want)
		}
	}
}

// TestStateCount checks the count of entries read from a state file's
// header alone, which sizes the local scan that starts before the file is
// loaded: the tree's, with long paths in the header too; none for no
// file, another format or a header cut short.
func TestStateCount(t *testing.T) {
	dir := t.TempDir()
	long := "/" + strings.Repeat("x", 5000) // past the header's first read
	for _, n := range []int{1, 5000} {
		sp := filepath.Join(dir, fmt.Sprint(n))
		if err := saveState(sp, &state{Local: long, Remote: "a@h:" + long}, bigTree(t, n)); err != nil {
			t.Fatal(err)
		}
		if got := stateCount(sp); got != n {
			t.Errorf("state of %d entries: count %d", n, got)
		}
	}
	b, err := os.ReadFile(filepath.Join(dir, "1"))
	if err != nil {
		t.Fatal(err)
	}
	cut := filepath.Join(dir, "cut")
	other := filepath.Join(dir, "other")
	if err := os.WriteFile(cut, b[:len(long)], 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(other, []byte(strings.Repeat("not a state file ", 10)), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{cut, other, filepath.Join(dir, "none")} {
		if got := stateCount(p); got != 0 {
			t.Errorf("%s: count %d, want 0", filepath.Base(p), got)
		}
	}
}
