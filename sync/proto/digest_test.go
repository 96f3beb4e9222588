package proto

import (
	"errors"
	"testing"
)

// digestOf is the digest of entries, named by their paths.
func digestOf(es ...Entry) (DirDigest, bool) {
	var d Digester
	d.Reset()
	for i := range es {
		d.Add(es[i].Path, &es[i])
	}
	return d.Sum()
}

func TestDigestFields(t *testing.T) {
	file := Entry{Path: "a", Kind: KindFile, Size: 10, Mtime: 1764888000123456789, Mode: 0o644, Hash: ChunkID([]byte("a"))}
	link := Entry{Path: "l", Kind: KindSymlink, Mtime: 5, Mode: 0o777, Target: "../x"}
	dir := Entry{Path: "d", Kind: KindDir, Mtime: 7, Mode: 0o755}
	base := []Entry{file, dir, link}
	want, ok := digestOf(base...)
	if !ok {
		t.Fatal("a listing with every hash known: got ok false")
	}
	// Each change of a field a client keeps changes the digest.
	cases := []struct {
		name string
		i    int
		edit func(*Entry)
	}{
		{"file name", 0, func(e *Entry) { e.Path = "b" }},
		{"file size", 0, func(e *Entry) { e.Size++ }},
		{"file mtime", 0, func(e *Entry) { e.Mtime++ }},
		{"file mode", 0, func(e *Entry) { e.Mode = 0o600 }},
		{"file hash", 0, func(e *Entry) { e.Hash[31] ^= 1 }},
		{"file to dir", 0, func(e *Entry) { e.Kind, e.Size, e.Hash = KindDir, 0, Hash{} }},
		{"file to link", 0, func(e *Entry) { e.Kind, e.Size, e.Hash, e.Target = KindSymlink, 0, Hash{}, "x" }},
		{"dir mode", 1, func(e *Entry) { e.Mode = 0o700 }},
		{"dir to file", 1, func(e *Entry) { e.Kind, e.Hash = KindFile, ChunkID(nil) }},
		{"dir name", 1, func(e *Entry) { e.Path = "d2" }},
		{"link target", 2, func(e *Entry) { e.Target = "../y" }},
		{"link mode", 2, func(e *Entry) { e.Mode = 0o755 }},
		{"link to empty target", 2, func(e *Entry) { e.Target = "" }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			es := append([]Entry(nil), base...)
			tc.edit(&es[tc.i])
			if got, _ := digestOf(es...); got == want {
				t.Errorf("got the same digest %x after the change, want another", got[:8])
			}
		})
	}
	t.Run("equal listings", func(t *testing.T) {
		again := append([]Entry(nil), base...)
		if got, ok := digestOf(again...); got != want || !ok {
			t.Errorf("got %x %v, want %x true", got[:8], ok, want[:8])
		}
	})
	t.Run("left out", func(t *testing.T) {
		// A directory's and a link's size and mtime: no client compares
		// them, and the two sides' never agree.
		es := append([]Entry(nil), base...)
		es[1].Size, es[2].Size = 4096, 4
		es[1].Mtime, es[2].Mtime = -7, 6
		if got, _ := digestOf(es...); got != want {
			t.Errorf("got %x, want %x: directory and link sizes and mtimes are not digested", got[:8], want[:8])
		}
	})
	t.Run("entry added or removed", func(t *testing.T) {
		if got, _ := digestOf(base[:2]...); got == want {
			t.Error("a removed entry: got the same digest")
		}
		if got, _ := digestOf(append(base, Entry{Path: "z", Kind: KindDir, Mode: 0o755})...); got == want {
			t.Error("an added entry: got the same digest")
		}
	})
	t.Run("boundaries", func(t *testing.T) {
		// Names and targets are length-prefixed: moving bytes between
		// fields changes the digest.
		a, _ := digestOf(Entry{Path: "ab", Kind: KindSymlink, Target: "c"})
		b, _ := digestOf(Entry{Path: "a", Kind: KindSymlink, Target: "bc"})
		if a == b {
			t.Error("name/target boundary: got equal digests")
		}
	})
	t.Run("empty", func(t *testing.T) {
		e1, ok := digestOf()
		e2, _ := digestOf(dir)
		if !ok || e1 == e2 {
			t.Errorf("empty directory: got %x %v, want a digest of its own", e1[:8], ok)
		}
	})
	t.Run("hashless", func(t *testing.T) {
		es := append([]Entry(nil), base...)
		es[0].Hash = Hash{}
		if _, ok := digestOf(es...); ok {
			t.Error("a file without a hash: got ok true, want false (never matches)")
		}
	})
	t.Run("reset", func(t *testing.T) {
		var d Digester
		d.Add("junk", &file)
		d.Reset()
		for i := range base {
			d.Add(base[i].Path, &base[i])
		}
		if got, _ := d.Sum(); got != want {
			t.Errorf("after Reset: got %x, want %x", got[:8], want[:8])
		}
	})
}

// TestDigestVector pins the digest's definition (PROTOCOL.md): a change
// of the encoding is a protocol change.
func TestDigestVector(t *testing.T) {
	got, _ := digestOf(
		Entry{Path: "a", Kind: KindFile, Size: 3, Mtime: 1, Mode: 0o644, Hash: ChunkID([]byte("abc"))},
		Entry{Path: "d", Kind: KindDir, Mtime: -1, Mode: 0o755},
		Entry{Path: "l", Kind: KindSymlink, Mtime: 2, Mode: 0o777, Target: "a"},
	)
	const want = "dd1b627abf6eedcfb7f60117317dc80a3701594818815d18208f97c51f9a3051"
	if s := hexString(got[:]); s != want {
		t.Errorf("got %s, want %s", s, want)
	}
	empty, _ := digestOf()
	const wantEmpty = "013722f52dd83392500b79fd7ce1622e6d482f8989072cb685bee6a5624bbdbf"
	if s := hexString(empty[:]); s != wantEmpty {
		t.Errorf("empty: got %s, want %s", s, wantEmpty)
	}
}

func hexString(b []byte) string {
	const digits = "0123456789abcdef"
	out := make([]byte, 0, 2*len(b))
	for _, c := range b {
		out = append(out, digits[c>>4], digits[c&15])
	}
	return string(out)
}

func TestDirSumsWire(t *testing.T) {
	var d1, d2 DirDigest
	d1[0], d2[31] = 1, 2
	m := &DirDigests{Dirs: DirSums{{Path: "", Digest: d1}, {Path: "docs", Digest: d2}, {Path: "docs/a\xff", Digest: d1}}}
	f, err := recvBytes(frameBytes(t, m))
	if err != nil {
		t.Fatal(err)
	}
	got, ok := f.Msg.(*DirDigests)
	if !ok || len(got.Dirs) != 3 || got.Dirs[2] != m.Dirs[2] || got.Dirs[1] != m.Dirs[1] {
		t.Errorf("got %+v, want %+v", f.Msg, m)
	}
	bad := []struct {
		name string
		body []byte
	}{
		{"digest of 31 bytes", append([]byte{0xa1, 0x01, 0x81, 0x83, 0x00, 0x40, 0x58, 31}, make([]byte, 31)...)},
		{"digest as text", append([]byte{0xa1, 0x01, 0x81, 0x83, 0x00, 0x40, 0x78, 32}, make([]byte, 32)...)},
		{"prefix beyond previous", append([]byte{0xa1, 0x01, 0x81, 0x83, 0x01, 0x40, 0x58, 32}, make([]byte, 32)...)},
		{"not an array", []byte{0xa1, 0x01, 0xa0}},
		{"entry too short", []byte{0xa1, 0x01, 0x81, 0x82, 0x00, 0x40}},
		{"truncated", []byte{0xa1, 0x01, 0x81, 0x83, 0x00, 0x40, 0x58, 32, 1, 2}},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			f, err := recvBytes(rawFrame(TypeDirDigests, tc.body))
			if !errors.Is(err, ErrFrame) {
				t.Errorf("got %+v, %v; want an error wrapping ErrFrame", f, err)
			}
		})
	}
}

func TestDigestBatches(t *testing.T) {
	dirs := make([]DirSum, 2500)
	got := DigestBatches(dirs)
	if len(got) != 3 || len(got[0]) != 1024 || len(got[2]) != 452 {
		t.Errorf("got %d batches, want 1024+1024+452", len(got))
	}
	long := make([]DirSum, 200)
	for i := range long {
		long[i].Path = string(make([]byte, 4000))
	}
	for _, b := range DigestBatches(long) {
		if n := len(frameBytes(t, &DirDigests{Dirs: b})); n > MaxFrame {
			t.Errorf("a batch of %d long paths is %d bytes, over MaxFrame", len(b), n)
		}
	}
}
