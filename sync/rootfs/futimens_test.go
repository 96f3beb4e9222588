package rootfs

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestFutimens(t *testing.T) {
	p := filepath.Join(t.TempDir(), "f")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	want := time.Unix(1234567890, 123456789)
	if err := Futimens(f, want, want); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	if !st.ModTime().Equal(want) {
		t.Errorf("mtime: got %v, want %v", st.ModTime(), want)
	}
}
