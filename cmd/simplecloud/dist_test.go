package main

import (
	"bytes"
	"compress/gzip"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/spf13/cobra"

	"simplecloud/provision"
	"simplecloud/sync/server"
)

// TestDist runs the hidden dist command and checks each file against its
// source: the units are provision's, the configuration sets nothing and
// shows the server's keys, every visible command has a man page, and the
// completions are cobra's for this tree.
func TestDist(t *testing.T) {
	t.Setenv("SOURCE_DATE_EPOCH", "1700000000")
	dir := t.TempDir()
	if code, _, stderr := runCLI("dist", "--bin", "/usr/bin/simplecloud", dir); code != exitOK {
		t.Fatalf("dist: exit %d: %s", code, stderr)
	}
	read := func(name string) string {
		t.Helper()
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}

	c := &provision.Config{Volume: provision.VolumeConfig{Mount: provision.DefaultMount}}
	for name, want := range provision.Units("/usr/bin/simplecloud", defaultConfig, c) {
		if got := read("units/" + name); got != want {
			t.Errorf("units/%s:\n%s\nwant provision.Units':\n%s", name, got, want)
		}
	}

	for name, want := range provision.ReplicaUnits("/usr/bin/simplecloud", defaultConfig) {
		if got := read("units/" + name); got != want {
			t.Errorf("units/%s:\n%s\nwant provision.ReplicaUnits':\n%s", name, got, want)
		}
	}
	verifyUnits(t, provision.ReplicaUnits("/bin/true", defaultConfig))

	conf := filepath.Join(dir, "simplecloud.toml")
	if !strings.Contains(read("simplecloud.toml"), server.SampleConfig()) {
		t.Error("simplecloud.toml lacks the server's sample configuration")
	}
	if _, err := provision.LoadConfig(conf); !errors.Is(err, provision.ErrNoConfig) {
		t.Errorf("provision.LoadConfig of the shipped file: got %v, want ErrNoConfig", err)
	}
	if sc, err := server.LoadConfig(conf); err != nil || sc.Listen != "" {
		t.Errorf("server.LoadConfig of the shipped file: got %+v, %v; want nothing set", sc, err)
	}

	var want []string
	var walk func(*cobra.Command)
	walk = func(c *cobra.Command) {
		if c.HasParent() && !c.IsAvailableCommand() {
			return
		}
		want = append(want, strings.ReplaceAll(c.CommandPath(), " ", "-"))
		for _, s := range c.Commands() {
			walk(s)
		}
	}
	walk(newRootCmd(&app{}))
	for _, name := range []string{"simplecloud", "simplecloud-luks-open", "simplecloud-serve"} {
		if !strings.Contains(strings.Join(want, " ")+" ", name+" ") {
			t.Errorf("command tree walk missed %s", name)
		}
	}
	for _, name := range want {
		page := gunzip(t, filepath.Join(dir, "man", name+".1.gz"))
		if !strings.Contains(page, `.TH "`+strings.ToUpper(name)+`" "1" "Nov 2023"`) {
			t.Errorf("%s.1: header %q", name, page[:min(len(page), 80)])
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "man", "simplecloud-dist.1.gz")); err == nil {
		t.Error("the hidden dist command has a man page")
	}

	for name, first := range map[string]string{
		"completion/bash/simplecloud":      "# bash completion V2 for simplecloud",
		"completion/zsh/_simplecloud":      "#compdef simplecloud",
		"completion/fish/simplecloud.fish": "# fish completion for simplecloud",
	} {
		if got := read(name); !strings.HasPrefix(got, first) {
			t.Errorf("%s starts %q, want %q", name, got[:min(len(got), 40)], first)
		}
	}
}

func gunzip(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	r, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	out, err := io.ReadAll(r)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return string(out)
}

// verifyUnits has systemd-analyze check units (by file name), when it is
// installed.
func verifyUnits(t *testing.T, units map[string]string) {
	t.Helper()
	if _, err := exec.LookPath("systemd-analyze"); err != nil {
		t.Log("systemd-analyze is not installed: the units' syntax is not checked")
		return
	}
	dir := t.TempDir()
	var paths []string
	for name, text := range units {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		paths = append(paths, p)
	}
	slices.Sort(paths)
	if out, err := exec.Command("systemd-analyze", append([]string{"verify", "--man=no"}, paths...)...).CombinedOutput(); err != nil || len(out) > 0 {
		t.Errorf("systemd-analyze verify: %v\n%s", err, out)
	}
}
