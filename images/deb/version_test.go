package main

import (
	"bytes"
	"compress/gzip"
	"io"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

func TestDebianVersion(t *testing.T) {
	at := time.Date(2026, 12, 5, 0, 32, 31, 0, time.UTC)
	for _, tc := range []struct{ describe, want string }{
		{"v1.2.3", "1.2.3"},
		{"1.2.3", "1.2.3"},
		{"v1.2.3-4-gabc1234", "1.2.3+4.gabc1234"},
		{"v1.2.3-4-gabc1234-dirty", "1.2.3+4.gabc1234.dirty"},
		{"v1.2.3-dirty", "1.2.3+dirty"},
		{"v0.1.0-rc1", "0.1.0~rc1"},
		{"v0.1.0-rc1-3-gabc1234", "0.1.0~rc1+3.gabc1234"},
		{"3dab13e", "0~git20261205003231.3dab13e"},
		{"3dab13e-dirty", "0~git20261205003231.3dab13e.dirty"},
		{"abcdef0", "0~git20261205003231.abcdef0"},
	} {
		got, err := debianVersion(tc.describe, at)
		if err != nil || got != tc.want {
			t.Errorf("debianVersion(%q) = %q, %v; want %q", tc.describe, got, err, tc.want)
		}
	}
	for _, bad := range []string{"dev", "", "v", "release/1.0"} {
		if got, err := debianVersion(bad, at); err == nil {
			t.Errorf("debianVersion(%q) = %q, want an error", bad, got)
		}
	}
}

// TestDebianVersionOrder has dpkg, the reference, compare the versions of a
// history: untagged commits, a tag, commits after it, the next tag.
func TestDebianVersionOrder(t *testing.T) {
	if _, err := exec.LookPath("dpkg"); err != nil {
		t.Skip("dpkg is missing: cannot compare versions")
	}
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	history := []struct {
		describe string
		at       time.Time
	}{
		{"abcdef0", t0},
		{"1234567", t0.Add(time.Hour)},
		{"1234567-dirty", t0.Add(time.Hour)},
		{"v0.1.0-rc1", t0.Add(90 * time.Minute)},
		{"v0.1.0-rc1-2-g1111111", t0.Add(100 * time.Minute)},
		{"v0.1.0", t0.Add(2 * time.Hour)},
		{"v0.1.0-1-gfedcba9", t0.Add(3 * time.Hour)},
		{"v0.1.0-12-g0123456", t0.Add(4 * time.Hour)},
		{"v0.1.1", t0.Add(5 * time.Hour)},
	}
	var prev string
	for _, h := range history {
		v, err := debianVersion(h.describe, h.at)
		if err != nil {
			t.Fatal(err)
		}
		if prev != "" {
			if err := exec.Command("dpkg", "--compare-versions", prev, "lt", v).Run(); err != nil {
				t.Errorf("dpkg: %s is not older than %s (%s)", prev, v, h.describe)
			}
		}
		prev = v
	}
}

func TestChangelog(t *testing.T) {
	at := time.Date(2026, 12, 5, 0, 32, 31, 0, time.UTC)
	gz, err := changelog("1.2.3", "v1.2.3", "A B <a@b.example>", at)
	if err != nil {
		t.Fatal(err)
	}
	r, err := gzip.NewReader(bytes.NewReader(gz))
	if err != nil {
		t.Fatal(err)
	}
	if !r.ModTime.IsZero() || r.Name != "" {
		t.Errorf("gzip header carries name %q, time %v; want neither", r.Name, r.ModTime)
	}
	text, _ := io.ReadAll(r)
	want := "simplecloud (1.2.3) unstable; urgency=medium\n\n  * Built from v1.2.3.\n\n -- A B <a@b.example>  Sat, 05 Dec 2026 00:32:31 +0000\n"
	if string(text) != want {
		t.Errorf("got\n%s\nwant\n%s", text, want)
	}
	if _, err := exec.LookPath("dpkg-parsechangelog"); err == nil {
		cmd := exec.Command("dpkg-parsechangelog", "-l-", "-SVersion")
		cmd.Stdin = strings.NewReader(string(text))
		out, err := cmd.Output()
		if err != nil || strings.TrimSpace(string(out)) != "1.2.3" {
			t.Errorf("dpkg-parsechangelog: got %q, %v; want 1.2.3", out, err)
		}
	}
}

// TestNFPMVersion keeps the nfpm that .ci/deps installs and the one the
// error message names in step.
func TestNFPMVersion(t *testing.T) {
	b, err := os.ReadFile("../../.ci/deps")
	if err != nil {
		t.Fatal(err)
	}
	if want := "github.com/goreleaser/nfpm/v2/cmd/nfpm@" + NFPMVersion; !strings.Contains(string(b), want) {
		t.Errorf(".ci/deps does not install %s", want)
	}
}
