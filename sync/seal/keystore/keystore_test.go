package keystore_test

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"simplecloud/sync/seal"
	"simplecloud/sync/seal/keystore"
)

func key(t *testing.T, b byte) *seal.Key {
	t.Helper()
	k, err := seal.NewKey(bytes.Repeat([]byte{b}, seal.KeySize))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func perm(t *testing.T, p string) os.FileMode {
	t.Helper()
	fi, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Mode().Perm()
}

func TestSaveLoad(t *testing.T) {
	s := keystore.Store{Dir: filepath.Join(t.TempDir(), "simplecloud", "keys")}
	k := key(t, 1)
	path, existed, err := s.Save(k)
	if err != nil || existed {
		t.Fatalf("save: %v (existed %v)", err, existed)
	}
	if got := perm(t, path); got != 0o600 {
		t.Errorf("key file mode: got %04o, want 0600", got)
	}
	if got := perm(t, s.Dir); got != 0o700 {
		t.Errorf("key directory mode: got %04o, want 0700", got)
	}
	for _, id := range []string{k.ID(), k.ID()[:4]} {
		got, err := s.Load(id)
		if err != nil || !got.Equal(k) {
			t.Errorf("load %s: got %v, want the key", id, err)
		}
	}
	if _, existed, err := s.Save(k); err != nil || !existed {
		t.Errorf("save again: got existed %v, %v; want existed", existed, err)
	}
	ents, _ := os.ReadDir(s.Dir)
	if len(ents) != 1 {
		t.Errorf("got %d entries in the key directory, want 1 (no temporary files left)", len(ents))
	}
	ids, err := s.List()
	if err != nil || len(ids) != 1 || ids[0] != k.ID() {
		t.Errorf("list: got %v, %v; want [%s]", ids, err, k.ID())
	}
}

func TestSaveTightensDirectory(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "keys")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if _, _, err := (keystore.Store{Dir: dir}).Save(key(t, 2)); err != nil {
		t.Fatal(err)
	}
	if got := perm(t, dir); got != 0o700 {
		t.Errorf("got %04o, want 0700", got)
	}
}

func TestLoadRefused(t *testing.T) {
	s := keystore.Store{Dir: t.TempDir()}
	a := key(t, 3)
	path, _, err := s.Save(a)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Load("0123456789abcdef"); !errors.Is(err, keystore.ErrNotFound) {
		t.Errorf("unknown id: got %v, want ErrNotFound", err)
	}
	for _, id := range []string{"../x", "ab", "ABCD", "0123456789abcdef0"} {
		if _, err := s.Load(id); err == nil || !strings.Contains(err.Error(), "hex digits") {
			t.Errorf("id %q: got %v, want a refusal", id, err)
		}
	}
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Load(a.ID()); err == nil || !strings.Contains(err.Error(), "too open") {
		t.Errorf("mode 0644: got %v, want too open", err)
	}
	os.Chmod(path, 0o600)
	if err := os.WriteFile(path, []byte("# id "+a.ID()+"\nAAAA-BBBB\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Load(a.ID()); !errors.Is(err, seal.ErrKeyText) {
		t.Errorf("damaged file: got %v, want ErrKeyText", err)
	}
}

// TestLoadAmbiguousPrefix saves keys until two ids share 4 leading digits
// (65536 possibilities: about 300 keys) and checks the prefix is refused.
func TestLoadAmbiguousPrefix(t *testing.T) {
	s := keystore.Store{Dir: t.TempDir()}
	seen := map[string]string{}
	for i := 0; i < 5000; i++ {
		k, err := seal.NewKey(bytes.Repeat([]byte{byte(i), byte(i >> 8)}, seal.KeySize/2))
		if err != nil {
			t.Fatal(err)
		}
		p := k.ID()[:4]
		if other, ok := seen[p]; ok {
			if _, _, err := s.Save(k); err != nil {
				t.Fatal(err)
			}
			if _, err := s.Load(p); err == nil || !strings.Contains(err.Error(), other) {
				t.Errorf("prefix %s of two keys: got %v, want a refusal naming both", p, err)
			}
			return
		}
		seen[p] = k.ID()
		if _, _, err := s.Save(k); err != nil {
			t.Fatal(err)
		}
	}
	t.Fatal("no two ids shared a prefix")
}

func TestDefaultDir(t *testing.T) {
	cases := []struct {
		env  map[string]string
		want string
	}{
		{map[string]string{"XDG_CONFIG_HOME": "/x", "HOME": "/h"}, "/x/simplecloud/keys"},
		{map[string]string{"HOME": "/h"}, "/h/.config/simplecloud/keys"},
		{map[string]string{"XDG_CONFIG_HOME": "rel", "HOME": "/h"}, "/h/.config/simplecloud/keys"},
		{map[string]string{}, ""},
	}
	for _, c := range cases {
		got, err := keystore.DefaultDir(func(k string) string { return c.env[k] })
		if got != c.want || (err != nil) != (c.want == "") {
			t.Errorf("%v: got %q, %v; want %q", c.env, got, err, c.want)
		}
	}
}
