//go:build deb

package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"simplecloud/internal/cmdrun"
	"simplecloud/internal/testutil"
)

// debRoot describes the clean Debian 12 root the package is tried in:
// minbase and the package's dependencies, nothing else.
var debRoot = struct{ suite, variant, mirror string }{"bookworm", "minbase", "http://deb.debian.org/debian"}

// debRootPackages are installed into the root besides minbase: the
// package's Depends, so that dpkg -i needs no network.
var debRootPackages = []string{"e2fsprogs"}

// TestDeb builds the package twice (two versions), has lintian check it, and
// in a clean Debian 12 root installs it, upgrades it with an edited
// conffile, removes and purges it, checking the files at each step and what
// is left at the end.
func TestDeb(t *testing.T) {
	testutil.NeedRoot(t, "mmdebstrap", "lintian", "dpkg", "chroot", "tar")
	nfpm, err := findNFPM("")
	if err != nil {
		t.Skip(err)
	}
	ctx := context.Background()
	dir := t.TempDir()
	date := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	debs := map[string]string{}
	for _, v := range []string{"1.0~test1", "1.0~test2"} {
		bin := filepath.Join(dir, "simplecloud-"+v)
		run(t, cmdrun.Cmd{Name: "go", Args: []string{"build", "-trimpath", "-ldflags", "-s -w -X main.version=" + v, "-o", bin, "./cmd/simplecloud"},
			Dir: "../..", Env: []string{"CGO_ENABLED=0"}})
		p, err := build{Bin: bin, Describe: "v" + v, Date: date, Version: v, Out: dir, NFPM: nfpm}.run(ctx)
		if err != nil {
			t.Fatal(err)
		}
		debs[v] = p
	}

	testutil.Step(t, "lintian", func(t *testing.T) {
		// Exit status 0 means no errors; warnings and notes are listed.
		out := run(t, cmdrun.Cmd{Name: "lintian", Args: []string{"--fail-on", "error", "--info", "--pedantic", debs["1.0~test1"]}})
		t.Logf("lintian:\n%s", out)
	})

	root := filepath.Join(dir, "root")
	extractRoot(t, root)
	before := listTree(t, root)
	for v, p := range debs {
		copyFile(t, p, filepath.Join(root, "tmp", v+".deb"))
	}
	in := func(t *testing.T, args ...string) string {
		t.Helper()
		return run(t, cmdrun.Cmd{Name: "chroot", Args: append([]string{root}, args...),
			Env: []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "DEBIAN_FRONTEND=noninteractive", "LC_ALL=C"}})
	}
	exists := func(t *testing.T, want bool, paths ...string) {
		t.Helper()
		for _, p := range paths {
			_, err := os.Lstat(filepath.Join(root, p))
			if got := err == nil; got != want {
				t.Errorf("%s exists: %v, want %v", p, got, want)
			}
		}
	}
	const conf = "/etc/simplecloud/simplecloud.toml"

	testutil.Step(t, "install", func(t *testing.T) {
		in(t, "dpkg", "-i", "/tmp/1.0~test1.deb")
		if out := in(t, "simplecloud", "version"); !strings.HasPrefix(out, "simplecloud 1.0~test1 ") {
			t.Errorf("simplecloud version: %q", out)
		}
		exists(t, true, "/usr/bin/simplecloud", conf, "/usr/share/man/man1/simplecloud.1.gz", "/usr/share/man/man1/simplecloud-unlock.1.gz",
			"/usr/share/bash-completion/completions/simplecloud", "/usr/share/zsh/vendor-completions/_simplecloud",
			"/usr/share/fish/vendor_completions.d/simplecloud.fish", "/lib/systemd/system/simplecloud-unlock.service",
			"/lib/systemd/system/simplecloud-serve.service", "/lib/systemd/system/simplecloud-replica.timer",
			"/lib/systemd/system/simplecloud-replica-prune.service", "/usr/share/doc/simplecloud/copyright", "/usr/share/doc/simplecloud/changelog.gz")
		if out := in(t, "dpkg-query", "-W", "-f=${Conffiles}", "simplecloud"); !strings.Contains(out, " "+conf+" ") {
			t.Errorf("dpkg-query Conffiles: %q, want %s", out, conf)
		}
		// The shipped configuration sets no volume: nothing is installed.
		_, err := cmdrun.Cmd{Name: "chroot", Args: []string{root, "simplecloud", "unlock"}}.Output(ctx)
		if err == nil || !strings.Contains(err.Error(), "not installed") {
			t.Errorf("simplecloud unlock with the shipped configuration: got %v, want 'not installed'", err)
		}
	})

	testutil.Step(t, "upgrade keeps an edited conffile", func(t *testing.T) {
		appendFile(t, filepath.Join(root, conf), "\n[server]\nmax_auth_tries = 3 # edited\n")
		// What serve and install leave in /etc, for purge to remove (host
		// keys, install's units and their enablement), an administrator's
		// own unit and the data, for purge to keep.
		writeFile(t, filepath.Join(root, "/etc/simplecloud/hostkeys/ssh_host_ed25519_key"), "key\n")
		writeFile(t, filepath.Join(root, "/etc/systemd/system/simplecloud-serve.service"), "# Written by simplecloud install.\n[Unit]\n")
		writeFile(t, filepath.Join(root, "/etc/systemd/system/simplecloud-unlock.service"), "# Mine.\n[Unit]\n")
		if err := os.MkdirAll(filepath.Join(root, "/etc/systemd/system/multi-user.target.wants"), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink("/etc/systemd/system/simplecloud-serve.service", filepath.Join(root, "/etc/systemd/system/multi-user.target.wants/simplecloud-serve.service")); err != nil {
			t.Fatal(err)
		}
		// An administrator enabled the replica's timer.
		if err := os.MkdirAll(filepath.Join(root, "/etc/systemd/system/timers.target.wants"), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink("/lib/systemd/system/simplecloud-replica.timer", filepath.Join(root, "/etc/systemd/system/timers.target.wants/simplecloud-replica.timer")); err != nil {
			t.Fatal(err)
		}
		writeFile(t, filepath.Join(root, "/srv/simplecloud/alice/notes.txt"), "data\n")

		in(t, "dpkg", "-i", "/tmp/1.0~test2.deb") // stdin is /dev/null: a conffile prompt would fail it
		if out := in(t, "simplecloud", "version"); !strings.HasPrefix(out, "simplecloud 1.0~test2 ") {
			t.Errorf("simplecloud version after the upgrade: %q", out)
		}
		if b, _ := os.ReadFile(filepath.Join(root, conf)); !strings.Contains(string(b), "# edited") {
			t.Errorf("the upgrade lost the edit of %s", conf)
		}
		exists(t, false, conf+".dpkg-dist", conf+".dpkg-new")
	})

	testutil.Step(t, "remove", func(t *testing.T) {
		in(t, "dpkg", "-r", "simplecloud")
		exists(t, false, "/usr/bin/simplecloud", "/lib/systemd/system/simplecloud-serve.service")
		exists(t, true, conf, "/etc/simplecloud/hostkeys/ssh_host_ed25519_key")
		if out := in(t, "dpkg-query", "-W", "-f=${db:Status-Abbrev}", "simplecloud"); strings.TrimSpace(out) != "rc" {
			t.Errorf("status after remove: %q, want rc (config files left)", out)
		}
	})

	testutil.Step(t, "purge", func(t *testing.T) {
		in(t, "dpkg", "-P", "simplecloud")
		exists(t, false, "/etc/simplecloud", "/etc/systemd/system/simplecloud-serve.service",
			"/etc/systemd/system/multi-user.target.wants/simplecloud-serve.service",
			"/etc/systemd/system/timers.target.wants/simplecloud-replica.timer")
		exists(t, true, "/etc/systemd/system/simplecloud-unlock.service", "/srv/simplecloud/alice/notes.txt")
		// Left: the test's own files, and dpkg's records.
		var left []string
		for _, p := range listTree(t, root) {
			if !slices.Contains(before, p) && !strings.HasPrefix(p, "/var/lib/dpkg/") && !strings.HasPrefix(p, "/var/log/") && !strings.HasPrefix(p, "/tmp/") {
				left = append(left, p)
			}
		}
		want := []string{"/etc/systemd/system/simplecloud-unlock.service", "/srv/simplecloud", "/srv/simplecloud/alice", "/srv/simplecloud/alice/notes.txt"}
		if !slices.Contains(before, "/etc/systemd/system/timers.target.wants") {
			// The test made it for the timer's link: not the package's to remove.
			want = append(want, "/etc/systemd/system/timers.target.wants")
			slices.Sort(want)
		}
		if !slices.Equal(left, want) {
			t.Errorf("left after purge:\n%s\nwant:\n%s", strings.Join(left, "\n"), strings.Join(want, "\n"))
		}
	})
}

// extractRoot unpacks the cached Debian root into dir, making the cache
// first when it is missing (mmdebstrap, a few minutes). The cache file is
// named by a hash of what goes into it.
func extractRoot(t *testing.T, dir string) {
	t.Helper()
	home, err := os.UserHomeDir()
	if err != nil {
		t.Fatal(err)
	}
	key := sha256.Sum256([]byte(strings.Join(append([]string{debRoot.suite, debRoot.variant, debRoot.mirror}, debRootPackages...), " ")))
	cache := filepath.Join(home, ".cache", "simplecloud", "debroot-"+debRoot.suite+"-"+hex.EncodeToString(key[:6])+".tar")
	if _, err := os.Stat(cache); errors.Is(err, fs.ErrNotExist) {
		if err := os.MkdirAll(filepath.Dir(cache), 0o755); err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		tmp := cache + ".tmp.tar"
		run(t, cmdrun.Cmd{Name: "mmdebstrap", Args: []string{"--quiet", "--variant=" + debRoot.variant, "--include=" + strings.Join(debRootPackages, ","),
			debRoot.suite, tmp, debRoot.mirror}})
		if err := os.Rename(tmp, cache); err != nil {
			t.Fatal(err)
		}
		t.Logf("made the Debian root %s in %v", cache, time.Since(start).Round(time.Second))
	}
	start := time.Now()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	run(t, cmdrun.Cmd{Name: "tar", Args: []string{"--numeric-owner", "-xpf", cache, "-C", dir}})
	t.Logf("unpacked the Debian root in %v", time.Since(start).Round(time.Millisecond))
}

// listTree returns every path below root, as the root sees it, sorted.
func listTree(t *testing.T, root string) []string {
	t.Helper()
	var paths []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p != root {
			paths = append(paths, strings.TrimPrefix(p, root))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(paths)
	return paths
}

func run(t *testing.T, c cmdrun.Cmd) string {
	t.Helper()
	out, err := c.Output(context.Background())
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	return string(out)
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, to, string(b))
}

func writeFile(t *testing.T, path, text string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}

func appendFile(t *testing.T, path, text string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString(text); err != nil {
		t.Fatal(err)
	}
}
