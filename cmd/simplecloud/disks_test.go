package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// copyFixture copies a fixture tree of package disk into a temporary
// directory and writes blank device images for the named devices.
func copyFixture(t *testing.T, name string, blank ...string) string {
	t.Helper()
	src := filepath.Join("..", "..", "disk", "testdata", name)
	root := t.TempDir()
	if err := os.CopyFS(root, os.DirFS(src)); err != nil {
		// os.CopyFS does not copy symbolic links; the fixtures used here have none.
		t.Fatal(err)
	}
	os.MkdirAll(filepath.Join(root, "dev"), 0o755)
	for _, b := range blank {
		f, err := os.Create(filepath.Join(root, "dev", b))
		if err != nil {
			t.Fatal(err)
		}
		f.Truncate(1 << 20)
		f.Close()
	}
	return root
}

// TestDisksJSONMatchesGolden runs `simplecloud disks --json` on fixture
// trees and compares the output with the golden files of package disk.
func TestDisksJSONMatchesGolden(t *testing.T) {
	for _, c := range []struct{ fixture, dev string }{{"blank", "sdb"}, {"nvme", "nvme0n1"}, {"loop", "loop0"}} {
		root := copyFixture(t, c.fixture, c.dev)
		code, out, stderr := runCLI("disks", "--json", "--root", root)
		want, err := os.ReadFile(filepath.Join("..", "..", "disk", "testdata", c.fixture+".golden"))
		if err != nil {
			t.Fatal(err)
		}
		if code != 0 || out != string(want) {
			t.Errorf("disks --json on %s: exit %d, stderr %q, output differs from the golden file:\n%s", c.fixture, code, stderr, out)
		}
	}
}

func TestDisksTable(t *testing.T) {
	root := copyFixture(t, "nvme", "nvme0n1")
	code, out, _ := runCLI("disks", "--root", root)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if code != 0 || len(lines) != 2 || !strings.HasPrefix(lines[1], "yes") ||
		!strings.Contains(lines[1], "nvme-Samsung_SSD_980_1TB_S64ANS0T123456K") || !strings.Contains(lines[1], "931.5 GiB") {
		t.Errorf("got exit %d and table:\n%s\nwant a header and one eligible NVMe row", code, out)
	}
}
