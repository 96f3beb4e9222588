package proto

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// sealedFile makes a sealed file's bytes from payloads under made-up ids.
func sealedFile(payloads ...[]byte) ([]byte, []ChunkRef) {
	b := []byte(SealedMagic)
	var refs []ChunkRef
	for i, p := range payloads {
		var id Hash
		id[0] = byte(i + 1)
		b = AppendSealedRecord(b, id, p)
		refs = append(refs, ChunkRef{ID: id, Size: uint32(len(p))})
	}
	return b, refs
}

func TestSealedStreamHasher(t *testing.T) {
	file, refs := sealedFile(bytes.Repeat([]byte{1}, 100), bytes.Repeat([]byte{2}, 70000), []byte("12345678"))
	want := FileHash(refs)
	got, grefs, err := SealedHash(bytes.NewReader(file))
	if err != nil || got != want || len(grefs) != 3 {
		t.Fatalf("SealedHash: got %s %d refs %v, want %s 3 refs", got, len(grefs), err, want)
	}
	for _, step := range []int{1, 7, 36, 44, 1000, len(file)} {
		t.Run("", func(t *testing.T) {
			s := NewSealedStreamHasher()
			for i := 0; i < len(file); i += step {
				s.Write(file[i:min(i+step, len(file))])
			}
			if h, n := s.Sum(); h != want || n != int64(len(file)) {
				t.Errorf("writes of %d: got %s %d, want %s %d", step, h, n, want, len(file))
			}
		})
	}
	bad := map[string][]byte{
		"cut short":  file[:len(file)-1],
		"cut header": file[:len(file)-20],
		"bad magic":  append([]byte("SCSEALv2"), file[8:]...),
		"empty":      nil,
	}
	for name, b := range bad {
		s := NewSealedStreamHasher()
		s.Write(b)
		if h, _ := s.Sum(); !h.IsZero() {
			t.Errorf("%s: got hash %s, want zero", name, h)
		}
	}
	offs := SealedRecordOffsets(refs)
	if offs[0] != 8 || offs[1] != 8+36+100 || offs[2] != 8+36+100+36+70000 {
		t.Errorf("offsets: got %v", offs)
	}
}

// TestSealedHasherDamaged: a file that is not a whole sealed file gets a
// hash (so a listing shows it changed) that is no sealed file's.
func TestSealedHasherDamaged(t *testing.T) {
	file, refs := sealedFile([]byte("payload of the first record"), []byte("12345678"))
	dir := t.TempDir()
	hashOf := func(name string, b []byte) Hash {
		t.Helper()
		p := filepath.Join(dir, name)
		os.WriteFile(p, b, 0o644)
		f, err := os.Open(p)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		h, err := SealedHasher{}.Hash(f)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		return h
	}
	whole := hashOf("whole", file)
	if whole != FileHash(refs) {
		t.Errorf("whole file: got %s, want %s", Hash(whole), FileHash(refs))
	}
	cut := hashOf("cut", file[:len(file)-3])
	plain := hashOf("plain", []byte("not sealed at all"))
	if cut == whole || cut == (Hash{}) || plain == (Hash{}) || plain == cut {
		t.Errorf("damaged files: cut %s, plain %s, whole %s: want three different non-zero hashes", Hash(cut), Hash(plain), Hash(whole))
	}
}
