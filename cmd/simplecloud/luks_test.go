package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"simplecloud/internal/testutil"
)

// luksEnv is an image file, key files and cryptsetup as the oracle.
type luksEnv struct {
	t   *testing.T
	dir string
	img string
	cs  string
}

func newLuksEnv(t *testing.T) *luksEnv {
	t.Helper()
	testutil.NeedRoot(t) // cryptsetup, the oracle, wants root even on image files
	cs, err := exec.LookPath("cryptsetup")
	if err != nil {
		if _, err := os.Stat("/usr/sbin/cryptsetup"); err != nil {
			t.Skip("cryptsetup not installed")
		}
		cs = "/usr/sbin/cryptsetup"
	}
	e := &luksEnv{t: t, dir: t.TempDir(), cs: cs}
	e.img = filepath.Join(e.dir, "disk.img")
	if err := os.WriteFile(e.img, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(e.img, 20<<20); err != nil {
		t.Fatal(err)
	}
	return e
}

func (e *luksEnv) key(name, pass string) string {
	p := filepath.Join(e.dir, name)
	if err := os.WriteFile(p, []byte(pass), 0o600); err != nil {
		e.t.Fatal(err)
	}
	return p
}

// sc runs simplecloud with stdin and returns exit code, stdout, stderr.
func (e *luksEnv) sc(stdin string, args ...string) (int, string, string) {
	var out, errb bytes.Buffer
	code := run(args, strings.NewReader(stdin), &out, &errb)
	return code, out.String(), errb.String()
}

func (e *luksEnv) mustSC(args ...string) string {
	e.t.Helper()
	code, out, errs := e.sc("", args...)
	if code != 0 {
		e.t.Fatalf("simplecloud %s: exit %d\n%s%s", strings.Join(args, " "), code, out, errs)
	}
	return out
}

// csOpens reports whether cryptsetup accepts the key file.
func (e *luksEnv) csOpens(keyFile string) bool {
	e.t.Helper()
	out, err := exec.Command(e.cs, "open", "--test-passphrase", "--key-file", keyFile, e.img).CombinedOutput()
	var ee *exec.ExitError
	if err == nil {
		return true
	}
	if errors.As(err, &ee) && (ee.ExitCode() == 2 || strings.Contains(string(out), "No usable keyslot") ||
		strings.Contains(string(out), "not a valid LUKS device")) {
		return false
	}
	e.t.Fatalf("cryptsetup open --test-passphrase: %v\n%s", err, out)
	return false
}

var fastFormat = []string{"--pbkdf", "pbkdf2", "--pbkdf-force-iterations", "1000"}

func (e *luksEnv) format(keyFile string, extra ...string) {
	e.t.Helper()
	e.mustSC(append(append([]string{"luks", "format", e.img, "--batch-mode", "--key-file", keyFile}, fastFormat...), extra...)...)
}

func TestLuksFormatAndTestPassphrase(t *testing.T) {
	e := newLuksEnv(t)
	good, bad := e.key("good", "good pass"), e.key("bad", "bad pass")
	e.format(good, "--label", "cli", "--sector-size", "512")
	if !e.csOpens(good) || e.csOpens(bad) {
		t.Fatal("cryptsetup disagrees about the passphrases of our format")
	}
	cases := []struct {
		name string
		args []string
		want int
	}{
		{"good", []string{"luks", "open", e.img, "--test-passphrase", "--key-file", good}, 0},
		{"wrong", []string{"luks", "open", e.img, "--test-passphrase", "--key-file", bad}, 2},
		{"not luks", []string{"luks", "open", e.key("plain", "x"), "--test-passphrase", "--key-file", good}, 1},
		{"missing device", []string{"luks", "open", filepath.Join(e.dir, "nope"), "--test-passphrase", "--key-file", good}, 1},
		{"no name", []string{"luks", "open", e.img, "--key-file", good}, exitUsage},
	}
	for _, c := range cases {
		if code, out, errs := e.sc("", c.args...); code != c.want {
			t.Errorf("%s: exit %d, want %d\n%s%s", c.name, code, c.want, out, errs)
		}
	}
	// A passphrase on stdin (not a terminal) is one line.
	if code, _, errs := e.sc("good pass\n", "luks", "open", e.img, "--test-passphrase"); code != 0 {
		t.Fatalf("passphrase from stdin: exit %d: %s", code, errs)
	}
	dump := e.mustSC("luks", "dump", e.img)
	for _, s := range []string{"Label:         \tcli", "sector: 512 [bytes]", "PBKDF:      pbkdf2"} {
		if !strings.Contains(dump, s) {
			t.Errorf("dump lacks %q:\n%s", s, dump)
		}
	}
	var meta map[string]any
	if err := json.Unmarshal([]byte(e.mustSC("luks", "dump", e.img, "--json")), &meta); err != nil || meta["keyslots"] == nil {
		t.Fatalf("dump --json: %v", err)
	}
	// Our --dump-volume-key agrees with cryptsetup's.
	ours := regexp.MustCompile(`MK dump:\s+([0-9a-f]+)`).FindStringSubmatch(e.mustSC("luks", "dump", e.img, "--dump-volume-key", "--batch-mode", "--key-file", good))
	theirs, err := exec.Command(e.cs, "luksDump", "--dump-volume-key", "--batch-mode", "--key-file", good, e.img).CombinedOutput()
	if err != nil || ours == nil {
		t.Fatalf("dump volume key: %v %s", err, theirs)
	}
	i := strings.Index(string(theirs), "MK dump:")
	if got := strings.Join(strings.Fields(string(theirs[i+len("MK dump:"):])), ""); got != ours[1] {
		t.Fatalf("volume keys differ: ours %s, cryptsetup %s", ours[1], got)
	}
}

func TestLuksFormatConfirmation(t *testing.T) {
	e := newLuksEnv(t)
	k := e.key("k", "pw")
	args := append([]string{"luks", "format", e.img, "--key-file", k}, fastFormat...)
	if code, _, errs := e.sc("no\n", args...); code != 1 || !strings.Contains(errs, "Are you sure?") {
		t.Fatalf("answer no: exit %d, want 1 after the question\n%s", code, errs)
	}
	if e.csOpens(k) {
		t.Fatal("image formatted without YES")
	}
	if code, _, errs := e.sc("YES\n", args...); code != 0 {
		t.Fatalf("answer YES: exit %d\n%s", code, errs)
	}
	if !e.csOpens(k) {
		t.Fatal("cryptsetup does not open the image formatted after YES")
	}
}

func TestLuksKeyslotCommands(t *testing.T) {
	e := newLuksEnv(t)
	k0, k1, k2 := e.key("k0", "zero"), e.key("k1", "one"), e.key("k2", "two")
	e.format(k0)
	e.mustSC(append([]string{"luks", "add-key", e.img, "--key-file", k0, "--new-key-file", k1}, fastFormat...)...)
	e.mustSC(append([]string{"luks", "add-key", e.img, "--key-file", k0, "--new-key-file", k2, "--key-slot", "7"}, fastFormat...)...)
	if !e.csOpens(k1) || !e.csOpens(k2) {
		t.Fatal("cryptsetup does not open the added keys")
	}
	if code, _, _ := e.sc("", append([]string{"luks", "add-key", e.img, "--key-file", e.key("x", "wrong"), "--new-key-file", k1}, fastFormat...)...); code != exitAuth {
		t.Fatalf("add-key with a wrong passphrase: exit %d, want %d", code, exitAuth)
	}
	e.mustSC("luks", "remove-key", e.img, "--key-file", k1)
	if e.csOpens(k1) || !e.csOpens(k0) {
		t.Fatal("after remove-key: cryptsetup should refuse k1 and open k0")
	}
	e.mustSC("luks", "kill-slot", e.img, "7", "--batch-mode")
	if e.csOpens(k2) {
		t.Fatal("cryptsetup opens a killed slot")
	}
	k3 := e.key("k3", "three")
	e.mustSC(append([]string{"luks", "change-key", e.img, "--key-file", k0, "--new-key-file", k3}, fastFormat...)...)
	if e.csOpens(k0) || !e.csOpens(k3) {
		t.Fatal("after change-key: cryptsetup should refuse the old and open the new passphrase")
	}
	out := e.mustSC(append([]string{"luks", "recovery-key", e.img, "--key-file", k3}, fastFormat...)...)
	rk := strings.TrimSpace(out)
	if !regexp.MustCompile(`^([cbdefghijklnrtuv]{8}-){7}[cbdefghijklnrtuv]{8}$`).MatchString(rk) {
		t.Fatalf("recovery key %q is not 8 groups of 8 modhex letters", rk)
	}
	if !e.csOpens(e.key("rk", rk)) {
		t.Fatal("cryptsetup does not open the recovery key")
	}
	out = e.mustSC(append([]string{"luks", "recovery-key", e.img, "--key-file", k3, "--qr"}, fastFormat...)...)
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	// The key, then the code: n cells wide (modules plus a 2-module quiet
	// zone each side) and ceil(n/2) lines tall, with n-4 a QR size 21+4v.
	if len(lines) < 2 {
		t.Fatalf("no QR code after the key:\n%s", out)
	}
	row := strings.TrimSuffix(strings.TrimPrefix(lines[1], "\x1b[30;47m"), "\x1b[0m")
	n := len([]rune(row))
	if (n-4-21)%4 != 0 || n < 25 || len(lines)-1 != (n+1)/2 {
		t.Fatalf("QR output: %d lines of %d cells, want a square code:\n%s", len(lines)-1, n, out)
	}
	if !e.csOpens(e.key("rk2", lines[0])) {
		t.Fatal("cryptsetup does not open the second recovery key")
	}
	e.mustSC("luks", "erase", e.img, "--batch-mode")
	if e.csOpens(k3) {
		t.Fatal("cryptsetup opens an erased volume")
	}
}

func TestLuksHeaderCommands(t *testing.T) {
	e := newLuksEnv(t)
	k := e.key("k", "pw")
	e.format(k)
	bak := filepath.Join(e.dir, "hdr.bak")
	e.mustSC("luks", "header-backup", e.img, "--header-backup-file", bak)
	if code, _, _ := e.sc("", "luks", "header-backup", e.img, "--header-backup-file", bak); code == 0 {
		t.Fatal("header-backup overwrote an existing file")
	}
	// Damage the primary JSON area: open still works, repair fixes it.
	f, err := os.OpenFile(e.img, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteAt([]byte("garbage"), 4200)
	f.Close()
	if code, _, errs := e.sc("", "luks", "open", e.img, "--test-passphrase", "--key-file", k); code != 0 || !strings.Contains(errs, "repair") {
		t.Fatalf("open with a damaged primary: exit %d, want 0 and a repair hint\n%s", code, errs)
	}
	e.mustSC("luks", "repair", e.img)
	if _, _, errs := e.sc("", "luks", "dump", e.img); strings.Contains(errs, "Warning") {
		t.Fatalf("header still damaged after repair: %s", errs)
	}
	if !e.csOpens(k) {
		t.Fatal("cryptsetup does not open the repaired header")
	}
	// Erase, then restore the backup.
	e.mustSC("luks", "erase", e.img, "--batch-mode")
	e.mustSC("luks", "header-restore", e.img, "--header-backup-file", bak, "--batch-mode")
	if !e.csOpens(k) {
		t.Fatal("cryptsetup does not open the restored header")
	}
}

func TestLuksLUKS1(t *testing.T) {
	e := newLuksEnv(t)
	k := e.key("k", "old volume")
	if out, err := exec.Command(e.cs, "luksFormat", "--batch-mode", "--type", "luks1", "--key-file", k,
		"--pbkdf-force-iterations", "1000", e.img).CombinedOutput(); err != nil {
		t.Fatalf("cryptsetup luksFormat --type luks1: %v\n%s", err, out)
	}
	if code, _, errs := e.sc("", "luks", "open", e.img, "--test-passphrase", "--key-file", k); code != 0 {
		t.Fatalf("open LUKS1: exit %d\n%s", code, errs)
	}
	if code, _, _ := e.sc("", "luks", "open", e.img, "--test-passphrase", "--key-file", e.key("w", "wrong")); code != exitAuth {
		t.Fatalf("wrong passphrase on LUKS1: exit %d, want %d", code, exitAuth)
	}
	dump := e.mustSC("luks", "dump", e.img)
	if !strings.Contains(dump, "Version:       \t1") || !strings.Contains(dump, "Key Slot 0: ENABLED") {
		t.Errorf("LUKS1 dump:\n%s", dump)
	}
	if code, _, errs := e.sc("", append([]string{"luks", "add-key", e.img, "--key-file", k, "--new-key-file", k}, fastFormat...)...); code != 1 || !strings.Contains(errs, "read-only") {
		t.Errorf("add-key on LUKS1: exit %d, want 1 and a read-only message\n%s", code, errs)
	}
}
