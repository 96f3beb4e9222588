package luks

import (
	"bytes"
	"encoding/hex"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"simplecloud/internal/testutil"
)

// Fast KDF parameters for tests.
var (
	fastPBKDF2 = PBKDF{Type: "pbkdf2", ForceIterations: 1000}
	fastArgon  = PBKDF{Type: "argon2id", ForceIterations: 4, MaxMemoryKiB: 32768, Parallel: 1}
)

// needCryptsetup returns the path of cryptsetup or skips: the oracle tests
// need it and root (cryptsetup wants root even on image files).
func needCryptsetup(t *testing.T) string {
	t.Helper()
	testutil.NeedRoot(t)
	return needTool(t, "cryptsetup")
}

type oracle struct {
	t    *testing.T
	bin  string
	dir  string
	keys int
}

func newOracle(t *testing.T) *oracle {
	return &oracle{t: t, bin: needCryptsetup(t), dir: t.TempDir()}
}

// keyFile writes pass to a new key file and returns its path.
func (o *oracle) keyFile(pass string) string {
	o.keys++
	p := filepath.Join(o.dir, "key"+string(rune('a'+o.keys)))
	if err := os.WriteFile(p, []byte(pass), 0o600); err != nil {
		o.t.Fatal(err)
	}
	return p
}

// image creates a sparse image file of size bytes.
func (o *oracle) image(name string, size int64) string {
	p := filepath.Join(o.dir, name)
	f, err := os.Create(p)
	if err != nil {
		o.t.Fatal(err)
	}
	if err := f.Truncate(size); err != nil {
		o.t.Fatal(err)
	}
	f.Close()
	return p
}

// run runs cryptsetup and returns its output and exit code.
func (o *oracle) run(args ...string) (string, int) {
	o.t.Helper()
	cmd := exec.Command(o.bin, args...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return out.String(), 0
	case errors.As(err, &ee):
		return out.String(), ee.ExitCode()
	default:
		o.t.Fatalf("cryptsetup %v: %v", args, err)
		return "", -1
	}
}

// must runs cryptsetup and fails the test unless it exits 0.
func (o *oracle) must(args ...string) string {
	o.t.Helper()
	out, code := o.run(args...)
	if code != 0 {
		o.t.Fatalf("cryptsetup %s: exit %d\n%s", strings.Join(args, " "), code, out)
	}
	return out
}

// volumeKey returns cryptsetup's idea of the volume key.
func (o *oracle) volumeKey(img, keyFile string) []byte {
	o.t.Helper()
	out := o.must("luksDump", "--dump-volume-key", "--batch-mode", "--key-file", keyFile, img)
	i := strings.Index(out, "MK dump:")
	if i < 0 {
		o.t.Fatalf("no MK dump in:\n%s", out)
	}
	var hexs strings.Builder
	for j, line := range strings.Split(out[i+len("MK dump:"):], "\n") {
		if j > 0 && !strings.HasPrefix(line, "\t") {
			break
		}
		hexs.WriteString(strings.ReplaceAll(strings.TrimSpace(line), " ", ""))
	}
	key, err := hex.DecodeString(hexs.String())
	if err != nil {
		o.t.Fatalf("parse MK dump: %v\n%s", err, out)
	}
	return key
}

// testOpen reports whether cryptsetup opens img with the key file.
func (o *oracle) testOpen(img, keyFile string, slot int) bool {
	o.t.Helper()
	args := []string{"open", "--test-passphrase", "--key-file", keyFile, img}
	if slot >= 0 {
		args = append(args, "--key-slot", strconv.Itoa(slot))
	}
	out, code := o.run(args...)
	switch code {
	case 0:
		return true
	case 2:
		return false
	case 1:
		if strings.Contains(out, "No usable keyslot") {
			return false
		}
	}
	o.t.Fatalf("cryptsetup %v: exit %d\n%s", args, code, out)
	return false
}

func openRW(t *testing.T, path string) *os.File {
	t.Helper()
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

func readHeader(t *testing.T, f *os.File) *Header {
	t.Helper()
	h, err := ReadHeader(f)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// TestOracleCryptsetupFormats: headers made by cryptsetup unlock here and
// give the volume key cryptsetup dumps.
func TestOracleCryptsetupFormats(t *testing.T) {
	o := newOracle(t)
	pass := "correct horse battery"
	kf := o.keyFile(pass)
	fast := []string{"--pbkdf-force-iterations", "1000"}
	argon := []string{"--pbkdf-memory", "32768", "--pbkdf-parallel", "1", "--pbkdf-force-iterations", "4"}
	cases := []struct {
		name string
		args []string
		slot int
	}{
		{"pbkdf2-sha256", append([]string{"--pbkdf", "pbkdf2"}, fast...), 0},
		{"pbkdf2-sha1", append([]string{"--pbkdf", "pbkdf2", "--hash", "sha1"}, fast...), 0},
		{"pbkdf2-sha512", append([]string{"--pbkdf", "pbkdf2", "--hash", "sha512"}, fast...), 0},
		{"argon2i", append([]string{"--pbkdf", "argon2i"}, argon...), 0},
		{"argon2id", append([]string{"--pbkdf", "argon2id"}, argon...), 0},
		{"sector512", append([]string{"--pbkdf", "pbkdf2", "--sector-size", "512"}, fast...), 0},
		{"sector4096-label", append([]string{"--pbkdf", "pbkdf2", "--sector-size", "4096", "--label", "data", "--subsystem", "sc"}, fast...), 0},
		{"high-slot", append([]string{"--pbkdf", "pbkdf2", "--key-slot", "31"}, fast...), 31},
		{"aes-128-xts", append([]string{"--pbkdf", "pbkdf2", "--key-size", "256"}, fast...), 0},
		{"cbc-essiv", append([]string{"--pbkdf", "pbkdf2", "--cipher", "aes-cbc-essiv:sha256", "--key-size", "256"}, fast...), 0},
		{"metadata-64k", append([]string{"--pbkdf", "pbkdf2", "--luks2-metadata-size", "64k", "--luks2-keyslots-size", "1m"}, fast...), 0},
		{"luks1", append([]string{"--type", "luks1", "--hash", "sha256"}, fast...), 0},
		{"luks1-sha1-cbc", append([]string{"--type", "luks1", "--hash", "sha1", "--cipher", "aes-cbc-essiv:sha256", "--key-size", "256"}, fast...), 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			o.t = t
			img := o.image(c.name+".img", 20<<20)
			o.must(append(append([]string{"luksFormat", "--batch-mode", "--key-file", kf}, c.args...), img)...)
			want := o.volumeKey(img, kf)
			f := openRW(t, img)
			h := readHeader(t, f)
			got, slot, err := h.Unlock(f, []byte(pass), AnySlot)
			if err != nil {
				t.Fatalf("unlock: %v", err)
			}
			if slot != c.slot || !bytes.Equal(got, want) {
				t.Fatalf("got slot %d key %x, want slot %d key %x", slot, got, c.slot, want)
			}
			if _, _, err := h.Unlock(f, []byte(pass+"x"), AnySlot); !errors.Is(err, ErrWrongKey) {
				t.Fatalf("wrong passphrase: got %v, want ErrWrongKey", err)
			}
		})
	}
}

// TestOracleTokenAndKeyslots: a header with a token, several keyslots with
// different KDFs and a label opens with each passphrase; rewriting the
// header here keeps the token, and cryptsetup still reads it.
func TestOracleTokenAndKeyslots(t *testing.T) {
	o := newOracle(t)
	img := o.image("multi.img", 20<<20)
	k0, k5, k17 := o.keyFile("zero"), o.keyFile("five"), o.keyFile("seventeen")
	o.must("luksFormat", "--batch-mode", "--key-file", k0, "--pbkdf", "pbkdf2", "--pbkdf-force-iterations", "1000", "--label", "multi", img)
	o.must("luksAddKey", "--batch-mode", "--key-file", k0, "--key-slot", "5", "--pbkdf", "argon2i",
		"--pbkdf-memory", "32768", "--pbkdf-parallel", "1", "--pbkdf-force-iterations", "4", img, k5)
	o.must("luksAddKey", "--batch-mode", "--key-file", k0, "--key-slot", "17", "--pbkdf", "pbkdf2", "--hash", "sha512",
		"--pbkdf-force-iterations", "1000", img, k17)
	token := `{"type":"simplecloud-test","keyslots":["5"],"zeta":{"nested":[1,2,{"x":null}]},"alpha":"kept"}`
	tokPath := filepath.Join(o.dir, "token.json")
	os.WriteFile(tokPath, []byte(token), 0o600)
	o.must("token", "import", "--json-file", tokPath, "--token-id", "3", img)
	want := o.volumeKey(img, k0)

	f := openRW(t, img)
	h := readHeader(t, f)
	if h.Label != "multi" {
		t.Fatalf("label %q, want multi", h.Label)
	}
	for pass, slot := range map[string]int{"zero": 0, "five": 5, "seventeen": 17} {
		got, s, err := h.Unlock(f, []byte(pass), AnySlot)
		if err != nil || s != slot || !bytes.Equal(got, want) {
			t.Fatalf("%s: slot %d err %v, want slot %d and cryptsetup's key", pass, s, err, slot)
		}
	}
	// Rewrite via an add-key here; the token must survive byte for byte
	// (apart from its keyslots list, which is unchanged).
	if _, err := h.AddKeyslot(f, want, []byte("new"), KeyslotOptions{Slot: AnySlot, PBKDF: fastPBKDF2}); err != nil {
		t.Fatal(err)
	}
	out := o.must("token", "export", "--token-id", "3", img)
	if strings.TrimSpace(out) != token {
		t.Fatalf("token after rewrite:\n%s\nwant\n%s", out, token)
	}
	if !o.testOpen(img, o.keyFile("new"), 1) || !o.testOpen(img, k17, 17) {
		t.Fatal("cryptsetup does not open the slots after our rewrite")
	}
	// Kill slot 5: the token loses its reference and cryptsetup accepts it.
	if err := h.KillSlot(f, 5); err != nil {
		t.Fatal(err)
	}
	o.must("luksDump", img)
	if o.testOpen(img, k5, -1) {
		t.Fatal("cryptsetup still opens the killed slot 5")
	}
	if !o.testOpen(img, k0, 0) {
		t.Fatal("cryptsetup no longer opens slot 0")
	}
}
