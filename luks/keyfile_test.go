package luks

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestReadKeyFile(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	key := write("key", []byte("pass\nwith newline\n"))
	limit := write("limit", bytes.Repeat([]byte{1}, MaxKeyFileSize))
	big := write("big", bytes.Repeat([]byte{1}, MaxKeyFileSize+1))
	empty := write("empty", nil)
	for _, c := range []struct {
		name, path, stdin string
		want              int    // bytes read
		err               string // substring; "" for none
	}{
		{"whole file, newlines kept", key, "", len("pass\nwith newline\n"), ""},
		{"stdin", "-", "from stdin\n", len("from stdin\n"), ""},
		{"at the limit", limit, "", MaxKeyFileSize, ""},
		{"over the limit", big, "", 0, "larger than"},
		{"empty", empty, "", 0, "is empty"},
		{"empty stdin", "-", "", 0, "is empty"},
		{"missing", filepath.Join(dir, "missing"), "", 0, "no such file"},
	} {
		t.Run(c.name, func(t *testing.T) {
			b, err := ReadKeyFile(c.path, strings.NewReader(c.stdin))
			if c.err != "" {
				if err == nil || !strings.Contains(err.Error(), c.err) {
					t.Fatalf("got %d bytes, %v; want an error with %q", len(b), err, c.err)
				}
				return
			}
			if err != nil || len(b) != c.want {
				t.Fatalf("got %d bytes, %v; want %d", len(b), err, c.want)
			}
		})
	}
}
