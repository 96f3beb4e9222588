package agent

import (
	"crypto/rand"
	"strings"
	"testing"

	"simplecloud/sync/seal"
	"simplecloud/sync/seal/keystore"
)

// TestFolderKey: an encrypted folder takes the key its key = names, or
// the one key held; with none or several held it says what to do.
func TestFolderKey(t *testing.T) {
	a := &Agent{KeyDir: t.TempDir()}
	ks := keystore.Store{Dir: a.KeyDir}
	f := Folder{Name: "secret", Encrypt: true}
	if _, err := a.folderKey(f); err == nil || !strings.Contains(err.Error(), "holds no folder key") {
		t.Errorf("no key: got %v, want an error saying key new or import", err)
	}
	k1, _ := seal.Generate(rand.Reader)
	k2, _ := seal.Generate(rand.Reader)
	ks.Save(k1)
	if k, err := a.folderKey(f); err != nil || !k.Equal(k1) {
		t.Errorf("one key: got %v, want key %s", err, k1.ID())
	}
	ks.Save(k2)
	if _, err := a.folderKey(f); err == nil || !strings.Contains(err.Error(), "key = ID") {
		t.Errorf("two keys: got %v, want an error asking for key = ID", err)
	}
	f.Key = k2.ID()[:6]
	if k, err := a.folderKey(f); err != nil || !k.Equal(k2) {
		t.Errorf("key = %s: got %v, want key %s", f.Key, err, k2.ID())
	}
	f.Key = "abcdef12"
	if _, err := a.folderKey(f); err == nil || !strings.Contains(err.Error(), "key import") {
		t.Errorf("a key not held: got %v, want an error saying key import", err)
	}
}
