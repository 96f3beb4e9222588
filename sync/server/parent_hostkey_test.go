package server

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"simplecloud/internal/testutil"
)

func TestLoadHostKeys(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "hk")
	first, err := LoadHostKeys(dir)
	if err != nil {
		t.Fatal(err)
	}
	wantTypes := []string{ssh.KeyAlgoED25519, ssh.KeyAlgoECDSA256}
	if len(first) != 2 {
		t.Fatalf("got %d keys, want 2", len(first))
	}
	for i, k := range first {
		if got := k.Signer.PublicKey().Type(); got != wantTypes[i] || !k.Created {
			t.Errorf("key %d: got type %s created %v, want %s created", i, got, k.Created, wantTypes[i])
		}
		st, err := os.Stat(k.Path)
		if err != nil || st.Mode().Perm() != 0o600 {
			t.Errorf("%s: got %v, %v; want mode 0600", k.Path, st, err)
		}
		pub, err := os.ReadFile(k.Path + ".pub")
		if err != nil || !strings.HasPrefix(string(pub), wantTypes[i]+" ") {
			t.Errorf("%s.pub: got %q, %v", k.Path, pub, err)
		}
	}
	again, err := LoadHostKeys(dir)
	if err != nil {
		t.Fatal(err)
	}
	for i := range again {
		if again[i].Created || again[i].Fingerprint != first[i].Fingerprint {
			t.Errorf("reload %d: got %s created %v, want %s reused", i, again[i].Fingerprint, again[i].Created, first[i].Fingerprint)
		}
	}
	os.Chmod(first[0].Path, 0o644)
	if _, err := LoadHostKeys(dir); err == nil || !strings.Contains(err.Error(), "want 0600") {
		t.Errorf("world-readable host key: got %v, want refused", err)
	}
}

// statInfo is an fs.FileInfo with an owner and a mode, for the checks.
type statInfo struct {
	mode fs.FileMode
	uid  uint32
}

func (s statInfo) Name() string       { return "x" }
func (s statInfo) Size() int64        { return 0 }
func (s statInfo) Mode() fs.FileMode  { return s.mode }
func (s statInfo) ModTime() time.Time { return time.Time{} }
func (s statInfo) IsDir() bool        { return s.mode.IsDir() }
func (s statInfo) Sys() any           { return &syscall.Stat_t{Uid: s.uid} }

func TestCheckHostKeyPerms(t *testing.T) {
	cases := []struct {
		name    string
		dir     bool
		st      statInfo
		wantErr string
	}{
		{"dir 0700 root", true, statInfo{fs.ModeDir | 0o700, 0}, ""},
		{"dir 0755 root", true, statInfo{fs.ModeDir | 0o755, 0}, ""},
		{"dir group-writable", true, statInfo{fs.ModeDir | 0o770, 0}, "bad modes: 0770 is writable by group or others"},
		{"dir world-writable", true, statInfo{fs.ModeDir | 0o1777, 0}, "bad modes: 0777 is writable by group or others"},
		{"dir of another user", true, statInfo{fs.ModeDir | 0o700, 1000}, "bad ownership: uid 1000, want 0"},
		{"key 0600 root", false, statInfo{0o600, 0}, ""},
		{"key 0400 root", false, statInfo{0o400, 0}, ""},
		{"key group-readable", false, statInfo{0o640, 0}, "want 0600"},
		{"key of another user", false, statInfo{0o600, 1000}, "bad ownership: uid 1000, want 0"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			check := checkHostKeyFile
			if tc.dir {
				check = checkHostKeyDir
			}
			err := check("/etc/simplecloud/hostkeys", tc.st, 0)
			switch {
			case tc.wantErr == "" && err != nil:
				t.Errorf("got %v, want accepted", err)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Errorf("got %v, want an error with %q", err, tc.wantErr)
			}
		})
	}
}

// TestLoadHostKeysRefuses loads keys from a directory others may write to,
// and, as root, from a directory and a key file that belong to another
// user.
func TestLoadHostKeysRefuses(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "hk")
	keys, err := LoadHostKeys(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, mode := range []fs.FileMode{0o770, 0o757} {
		os.Chmod(dir, mode)
		if _, err := LoadHostKeys(dir); err == nil || !strings.Contains(err.Error(), "writable by group or others") {
			t.Errorf("host key dir mode %#o: got %v, want refused", mode, err)
		}
	}
	os.Chmod(dir, 0o755)
	if _, err := LoadHostKeys(dir); err != nil {
		t.Errorf("host key dir mode 0755: got %v, want accepted", err)
	}
	testutil.NeedRoot(t)
	os.Chown(dir, 4242, 4242)
	if _, err := LoadHostKeys(dir); err == nil || !strings.Contains(err.Error(), "host key dir "+dir+": bad ownership: uid 4242, want 0") {
		t.Errorf("host key dir of uid 4242: got %v, want refused", err)
	}
	os.Chown(dir, 0, 0)
	os.Chown(keys[1].Path, 4242, 4242)
	if _, err := LoadHostKeys(dir); err == nil || !strings.Contains(err.Error(), "host key "+keys[1].Path+": bad ownership: uid 4242, want 0") {
		t.Errorf("host key file of uid 4242: got %v, want refused", err)
	}
}
