package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestFirstbootAnswers(t *testing.T) {
	for _, tc := range []struct {
		name, cmdline string
		esp           bool
		want          string
	}{
		{"nothing", "root=PARTUUID=x console=ttyS0 quiet", false, ""},
		{"esp file", "root=PARTUUID=x quiet", true, espAnswers},
		{"command line", "root=PARTUUID=x simplecloud.answers=/root/a.toml quiet", false, "/root/a.toml"},
		{"command line wins", "simplecloud.answers=/root/a.toml", true, "/root/a.toml"},
		{"empty value", "simplecloud.answers= quiet", false, ""},
		{"other option", "simplecloud.answersx=/a rd.simplecloud.answers=/b", false, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := firstbootAnswers(tc.cmdline, tc.esp); got != tc.want {
				t.Errorf("firstbootAnswers(%q, %v) = %q, want %q", tc.cmdline, tc.esp, got, tc.want)
			}
		})
	}
}

// TestFirstbootInstalled: with a configured volume firstboot does nothing
// (it must not reach the installer, which would need a terminal here).
func TestFirstbootInstalled(t *testing.T) {
	dir := t.TempDir()
	conf := filepath.Join(dir, "simplecloud.toml")
	text := "[volume]\nuuid = \"0b6c1a5e-1111-4222-8333-944445555666\"\nname = \"simplecloud\"\nmount = \"/srv/simplecloud\"\n"
	if err := os.WriteFile(conf, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := runCLI("firstboot", "--config", conf, "--cmdline", filepath.Join(dir, "missing"))
	if code != exitOK {
		t.Fatalf("firstboot with a configured volume: exit %d: %s", code, stderr)
	}
	if want := "nothing to install"; !strings.Contains(stdout, want) {
		t.Errorf("stdout %q, want %q", stdout, want)
	}
	// Not installed: it reads the command line (missing here: an error,
	// which shows it went on to choose the installer).
	code, _, stderr = runCLI("firstboot", "--config", filepath.Join(dir, "none.toml"), "--cmdline", filepath.Join(dir, "missing"))
	if code == exitOK || !strings.Contains(stderr, "missing") {
		t.Errorf("firstboot with no configuration: exit %d, stderr %q; want the command line's read error", code, stderr)
	}
}
