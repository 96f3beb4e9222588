package kscan

import (
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestLayoutCache checks that the layout is read from the cache file only
// when the file was written on this boot for this BTF, in a directory
// only we may write.
func TestLayoutCache(t *testing.T) {
	if _, err := os.Stat("/sys/kernel/btf/vmlinux"); err != nil {
		t.Skipf("no kernel BTF here: %v", err)
	}
	log := slog.New(slog.DiscardHandler)
	dir := t.TempDir()
	path := filepath.Join(dir, layoutCacheFile)
	fromBTF, err := CachedLayout(log, dir, "/proc", "/sys")
	if err != nil {
		t.Fatal(err)
	}
	edit := func(f func(c *layoutCache)) {
		t.Helper()
		var c layoutCache
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(b, &c); err != nil {
			t.Fatal(err)
		}
		f(&c)
		if b, err = json.Marshal(c); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	tgid := func() int32 {
		t.Helper()
		l, err := CachedLayout(log, dir, "/proc", "/sys")
		if err != nil {
			t.Fatal(err)
		}
		return l.taskTgid
	}

	edit(func(c *layoutCache) { c.Offsets["task_struct.tgid"] = 4242 })
	if got := tgid(); got != 4242 {
		t.Errorf("a current cache: got tgid offset %d, want the cached 4242", got)
	}
	edit(func(c *layoutCache) { c.Offsets["task_struct.tgid"], c.BootID = 4242, "another boot" })
	if got := tgid(); got != fromBTF.taskTgid {
		t.Errorf("a cache from another boot: got %d, want %d from BTF", got, fromBTF.taskTgid)
	}
	edit(func(c *layoutCache) { c.Offsets["task_struct.tgid"], c.BTFSize = 4242, 1 })
	if got := tgid(); got != fromBTF.taskTgid {
		t.Errorf("a cache of another kernel: got %d, want %d from BTF", got, fromBTF.taskTgid)
	}
	if err := os.WriteFile(path, []byte("{"), 0o600); err != nil {
		t.Fatal(err)
	}
	if got := tgid(); got != fromBTF.taskTgid {
		t.Errorf("a damaged cache: got %d, want %d", got, fromBTF.taskTgid)
	}
	edit(func(c *layoutCache) { delete(c.Offsets, "inode.i_sb") })
	if got := tgid(); got != fromBTF.taskTgid {
		t.Errorf("a cache without a field: got %d, want %d", got, fromBTF.taskTgid)
	}
	edit(func(c *layoutCache) { c.Offsets["task_struct.tgid"] = 4242 })
	if err := os.Chmod(dir, 0o777); err != nil {
		t.Fatal(err)
	}
	if got := tgid(); got != fromBTF.taskTgid {
		t.Errorf("a cache others may write: got %d, want %d", got, fromBTF.taskTgid)
	}
	if l, err := CachedLayout(log, "", "/proc", "/sys"); err != nil || l.taskTgid != fromBTF.taskTgid {
		t.Errorf("no cache directory: got %d, %v", l.taskTgid, err)
	}
}

// TestLayoutUnavailable checks that a kernel without BTF gets an error
// that says so.
func TestLayoutUnavailable(t *testing.T) {
	_, err := CachedLayout(slog.New(slog.DiscardHandler), t.TempDir(), "/proc", t.TempDir())
	if err == nil || !strings.Contains(err.Error(), "BTF") {
		t.Errorf("layout without BTF: got %v, want an error about BTF", err)
	}
}
