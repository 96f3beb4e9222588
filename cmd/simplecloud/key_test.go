package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"simplecloud/sync/seal/keystore"
	"simplecloud/tui"
)

// runKeyCLI runs the command tree with XDG_CONFIG_HOME set to cfg and
// stdin as input.
func runKeyCLI(t *testing.T, cfg, stdin string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	t.Setenv("XDG_CONFIG_HOME", cfg)
	var out, errb strings.Builder
	code = run(args, strings.NewReader(stdin), &out, &errb)
	return code, out.String(), errb.String()
}

// newKeyIn makes a key in cfg and returns its id.
func newKeyIn(t *testing.T, cfg string) string {
	t.Helper()
	code, out, errOut := runKeyCLI(t, cfg, "", "key", "new")
	id := strings.TrimSpace(out)
	if code != 0 || len(id) != 16 {
		t.Fatalf("key new: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	return id
}

func TestKeyExportImport(t *testing.T) {
	a, b := t.TempDir(), t.TempDir()
	id := newKeyIn(t, a)
	keyFile := filepath.Join(a, "simplecloud", "keys", id+".key")
	if fi, err := os.Stat(keyFile); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v, want mode 0600", err)
	}
	code, exported, _ := runKeyCLI(t, a, "", "key", "export", id)
	if code != 0 || !strings.Contains(exported, "# id "+id) {
		t.Fatalf("export: exit %d, %q", code, exported)
	}
	text := strings.TrimSpace(exported[strings.LastIndex(strings.TrimSpace(exported), "\n")+1:])

	testStep := func(name, cfg, stdin string, args ...string) {
		t.Run(name, func(t *testing.T) {
			code, out, errOut := runKeyCLI(t, cfg, stdin, append([]string{"key", "import"}, args...)...)
			if code != 0 || strings.TrimSpace(out) != id {
				t.Fatalf("exit %d, stdout %q, stderr %q; want id %s", code, out, errOut, id)
			}
			k, err := (keystore.Store{Dir: filepath.Join(cfg, "simplecloud", "keys")}).Load(id)
			if err != nil || k.ID() != id {
				t.Fatalf("load imported key: %v", err)
			}
		})
	}
	testStep("key file on stdin", b, exported)
	testStep("typeable form on stdin, lower case without dashes", t.TempDir(), strings.ToLower(strings.ReplaceAll(text, "-", ""))+"\n")
	out := filepath.Join(t.TempDir(), "usb.key")
	if code, _, errOut := runKeyCLI(t, a, "", "key", "export", id, "--output", out); code != 0 {
		t.Fatalf("export --output: exit %d: %s", code, errOut)
	}
	if fi, err := os.Stat(out); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("exported file: %v, want mode 0600", err)
	}
	testStep("file", t.TempDir(), "", out)
	testStep("again", b, exported)

	if code, _, errOut := runKeyCLI(t, a, "", "key", "export", id, "--output", out); code == 0 || !strings.Contains(errOut, "exists") {
		t.Errorf("export over an existing file: exit %d, %q; want a refusal", code, errOut)
	}
	want, err := tui.QRCode(text, tui.QRMedium, 2)
	if err != nil {
		t.Fatal(err)
	}
	if code, qr, _ := runKeyCLI(t, a, "", "key", "export", id, "--qr"); code != 0 || !strings.HasSuffix(qr, want) {
		t.Errorf("export --qr: exit %d, no QR code of the typeable form drawn", code)
	}
}

func TestKeyImportTypo(t *testing.T) {
	a := t.TempDir()
	id := newKeyIn(t, a)
	_, exported, _ := runKeyCLI(t, a, "", "key", "export", id)
	text := strings.TrimSpace(exported[strings.LastIndex(strings.TrimSpace(exported), "\n")+1:])
	// Change the 6th character (the second of group 2) to another letter.
	c := byte('A')
	if text[6] == 'A' {
		c = 'B'
	}
	typo := text[:6] + string(c) + text[7:]
	cfg := t.TempDir()
	code, out, errOut := runKeyCLI(t, cfg, typo+"\n", "key", "import")
	if code != exitError || out != "" || !strings.Contains(errOut, "character 6 (group 2)") {
		t.Errorf("typo: exit %d, stdout %q, stderr %q; want exit 1 naming character 6", code, out, errOut)
	}
	if strings.Contains(errOut, text[10:30]) {
		t.Errorf("the error shows the key: %q", errOut)
	}
	if ids, _ := (keystore.Store{Dir: filepath.Join(cfg, "simplecloud", "keys")}).List(); len(ids) != 0 {
		t.Errorf("a typo'd key was stored: %v", ids)
	}
	for name, in := range map[string]string{"empty": "", "garbage": "hello\n", "too short": text[:40]} {
		if code, _, errOut := runKeyCLI(t, cfg, in, "key", "import"); code != exitError || !strings.Contains(errOut, "not a valid folder key") {
			t.Errorf("%s: exit %d, %q; want a clear refusal", name, code, errOut)
		}
	}
	if code, _, errOut := runKeyCLI(t, cfg, "", "key", "export", "0123456789abcdef"); code != exitError || !strings.Contains(errOut, "no such key") {
		t.Errorf("export of an unknown id: exit %d, %q", code, errOut)
	}
}

// TestTmuxKeyImport types a key at a real terminal: first with a typo,
// which is caught and asked again, then right.
func TestTmuxKeyImport(t *testing.T) {
	if _, err := exec.LookPath("tmux"); err != nil {
		t.Skip("tmux is not installed")
	}
	a, b := t.TempDir(), t.TempDir()
	id := newKeyIn(t, a)
	_, exported, _ := runKeyCLI(t, a, "", "key", "export", id)
	text := strings.TrimSpace(exported[strings.LastIndex(strings.TrimSpace(exported), "\n")+1:])
	bin := buildOnce(t)
	s := &tmuxSession{t: t, name: fmt.Sprintf("sc-key-%d", os.Getpid())}
	shell := "XDG_CONFIG_HOME=" + b + " " + bin + " key import; echo EXIT=$?; sleep 600"
	if out, err := exec.Command("tmux", "new-session", "-d", "-s", s.name, "-x", "120", "-y", "24", shell).CombinedOutput(); err != nil {
		t.Fatalf("tmux new-session: %v\n%s", err, out)
	}
	t.Cleanup(func() { exec.Command("tmux", "kill-session", "-t", s.name).Run() })
	s.wait("Type the key")
	swapped := swapTypo(t, text)
	s.typeText(swapped)
	s.keys("Enter")
	s.wait("Try again")
	s.typeText(text)
	s.keys("Enter")
	scr := s.wait("EXIT=")
	if !strings.Contains(scr, "EXIT=0") || !strings.Contains(scr, "Imported key "+id) {
		t.Fatalf("screen:\n%s", scr)
	}
	if _, err := (keystore.Store{Dir: filepath.Join(b, "simplecloud", "keys")}).Load(id); err != nil {
		t.Errorf("load imported key: %v", err)
	}
}

// swapTypo swaps the first two neighbouring letters or digits that differ
// (case aside: the reader ignores it), the typo a person makes most; a random key may begin with a pair of equal
// characters, so the pair is searched for, not fixed.
func swapTypo(t *testing.T, text string) string {
	t.Helper()
	isKey := func(c byte) bool {
		return c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
	}
	for i := 0; i+1 < len(text); i++ {
		a, b := text[i], text[i+1]
		if isKey(a) && isKey(b) && !strings.EqualFold(string(a), string(b)) {
			return text[:i] + string(b) + string(a) + text[i+2:]
		}
	}
	t.Fatalf("no two neighbouring characters of %q differ; cannot make a swap typo", text)
	return ""
}
