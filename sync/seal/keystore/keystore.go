// Package keystore keeps folder keys on a client: one file per key, named
// by its id, in a directory only the user can enter
// ($XDG_CONFIG_HOME/simplecloud/keys). It is the OS side of package seal:
// the key files are seal's key file format, written atomically with mode
// 0600 in a directory of mode 0700, and a key file that others can read is
// refused, as ssh refuses such a private key.
package keystore

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"simplecloud/internal/xdg"
	"simplecloud/sync/seal"
)

// ext ends every key file's name.
const ext = ".key"

// ErrNotFound is wrapped when no stored key has the id asked for.
var ErrNotFound = errors.New("no such key")

// Store is a directory of key files.
type Store struct {
	Dir string
}

// DefaultDir returns $XDG_CONFIG_HOME/simplecloud/keys, or
// $HOME/.config/simplecloud/keys when XDG_CONFIG_HOME is unset; getenv is
// os.Getenv, normally.
func DefaultDir(getenv func(string) string) (string, error) {
	dir, err := xdg.ConfigHome.Path(getenv, "simplecloud", "keys")
	if err != nil {
		return "", fmt.Errorf("find the key directory: %w", err)
	}
	return dir, nil
}

// Path returns the file that holds the key with this id.
func (s Store) Path(id string) string { return filepath.Join(s.Dir, id+ext) }

// Save stores k unless a key with its id is already there; existed tells
// which. The directory is created with mode 0700 (and set to it).
func (s Store) Save(k *seal.Key) (path string, existed bool, err error) {
	if err := os.MkdirAll(s.Dir, 0o700); err != nil {
		return "", false, fmt.Errorf("save key: %w", err)
	}
	if err := os.Chmod(s.Dir, 0o700); err != nil {
		return "", false, fmt.Errorf("save key: %w", err)
	}
	path = s.Path(k.ID())
	if old, err := s.Load(k.ID()); err == nil {
		if !old.Equal(k) {
			return "", false, fmt.Errorf("save key %s: another key with the same id is stored in %s", k.ID(), path)
		}
		return path, true, nil
	} else if !errors.Is(err, ErrNotFound) {
		return "", false, err
	}
	if err := WriteFile(path, k.File()); err != nil {
		return "", false, fmt.Errorf("save key: %w", err)
	}
	return path, false, nil
}

// Load returns the key with this id, or with the one id that starts with
// it (at least 4 digits).
func (s Store) Load(id string) (*seal.Key, error) {
	if !validID(id) {
		return nil, fmt.Errorf("load key %q: an id is 4 to 16 hex digits", id)
	}
	path := s.Path(id)
	if _, err := os.Lstat(path); errors.Is(err, fs.ErrNotExist) {
		ids, err := s.List()
		if err != nil {
			return nil, err
		}
		var match []string
		for _, i := range ids {
			if strings.HasPrefix(i, id) {
				match = append(match, i)
			}
		}
		if len(match) > 1 {
			return nil, fmt.Errorf("load key %s: the prefix matches keys %s", id, strings.Join(match, ", "))
		}
		if len(match) == 1 {
			path = s.Path(match[0])
		}
	}
	return ReadFile(path)
}

// validID reports whether id can be a key id or a prefix of one.
func validID(id string) bool {
	if len(id) < 4 || len(id) > 16 {
		return false
	}
	for _, c := range id {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

// ReadFile reads a key file that must be a regular file readable by its
// owner only.
func ReadFile(path string) (*seal.Key, error) {
	fi, err := os.Lstat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("load key: %s: %w", path, ErrNotFound)
	} else if err != nil {
		return nil, fmt.Errorf("load key: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("load key: %s is not a regular file", path)
	}
	if perm := fi.Mode().Perm(); perm&0o077 != 0 {
		return nil, fmt.Errorf("load key: permissions %04o of %s are too open: want 0600 (chmod 600 %s)", perm, path, path)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("load key: %w", err)
	}
	k, err := seal.ParseFile(b)
	if err != nil {
		return nil, fmt.Errorf("load key %s: %w", path, err)
	}
	return k, nil
}

// List returns the ids of the stored keys, sorted; a missing directory
// holds none.
func (s Store) List() ([]string, error) {
	ents, err := os.ReadDir(s.Dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	} else if err != nil {
		return nil, fmt.Errorf("list keys: %w", err)
	}
	var ids []string
	for _, e := range ents {
		if id, ok := strings.CutSuffix(e.Name(), ext); ok && e.Type().IsRegular() && !strings.HasPrefix(id, ".") {
			ids = append(ids, id)
		}
	}
	sort.Strings(ids)
	return ids, nil
}

// WriteFile writes data to path atomically with mode 0600: a temporary
// file in the same directory, synced, renamed over path, and the directory
// synced. An existing path is replaced.
func WriteFile(path string, data []byte) error {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, ".tmp-key-*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	tmp := f.Name()
	defer os.Remove(tmp) // fails harmlessly after the rename
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("write %s: sync directory: %w", path, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("write %s: sync directory: %w", path, err)
	}
	return nil
}

// maxInput bounds what ReadKey reads: a key file is about 200 bytes.
const maxInput = 64 << 10

// ReadKey reads a key file or a typeable form from r (a file, a pipe) to
// its end.
func ReadKey(r io.Reader) (*seal.Key, error) {
	b, err := io.ReadAll(io.LimitReader(r, maxInput+1))
	if err != nil {
		return nil, fmt.Errorf("read key: %w", err)
	}
	if len(b) > maxInput {
		return nil, fmt.Errorf("read key: %w: more than %d bytes", seal.ErrKeyText, maxInput)
	}
	return seal.ParseFile(b)
}
