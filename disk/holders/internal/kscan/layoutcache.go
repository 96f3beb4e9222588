package kscan

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"syscall"
)

// The layout the BPF programs need comes from the kernel's BTF, a few
// megabytes that take longer to read than the scan takes to run. A kernel
// cannot change without a reboot, so the layout is kept for the rest of
// the boot in a file named by the boot's id, in a directory only root may
// write (/run is a tmpfs, emptied at boot). A missing, stale or unreadable
// file is rebuilt from BTF; the kernel's verifier checks every load the
// programs make against the real BTF in any case.

const layoutCacheFile = "bpf-layout.json"

// layoutCache is the file's content.
type layoutCache struct {
	BootID  string            `json:"boot_id"`
	BTFSize int64             `json:"btf_size"`
	Offsets map[string]int32  `json:"offsets"` // by "struct.field"
	IDs     map[string]int32  `json:"ids"`     // BTF ids of structs and kfuncs
	Iters   map[string]uint32 `json:"iters"`
}

// ids lists the layout's BTF ids by name.
func (l *Layout) ids() map[string]*int32 {
	m := l.kfuncs()
	maps.Copy(m, l.structs())
	return m
}

func (l Layout) toCache(bootID string, btfSize int64) layoutCache {
	c := layoutCache{BootID: bootID, BTFSize: btfSize, Offsets: map[string]int32{}, IDs: map[string]int32{}, Iters: l.iters}
	for _, f := range l.fields() {
		c.Offsets[f.strct+"."+f.field] = *f.dst
	}
	for name, p := range l.ids() {
		c.IDs[name] = *p
	}
	return c
}

func (c layoutCache) layout() (Layout, error) {
	var l Layout
	for _, f := range l.fields() {
		v, ok := c.Offsets[f.strct+"."+f.field]
		if !ok {
			return l, fmt.Errorf("no offset of %s.%s", f.strct, f.field)
		}
		*f.dst = v
	}
	for name, p := range l.ids() {
		*p = c.IDs[name]
	}
	for _, f := range iterFuncs {
		if c.Iters[f] == 0 {
			return l, fmt.Errorf("no id of %s", f)
		}
	}
	l.iters = c.Iters
	return l, nil
}

// CachedLayout returns the layout from dir's cache file when it was
// written on this boot for this kernel's BTF, else reads BTF and writes
// the file (a failure to write is only logged).
func CachedLayout(log *slog.Logger, dir, procDir, sysDir string) (Layout, error) {
	boot, err := os.ReadFile(filepath.Join(procDir, "sys", "kernel", "random", "boot_id"))
	fi, err2 := os.Stat(filepath.Join(sysDir, "kernel", "btf", "vmlinux"))
	if dir == "" || err != nil || err2 != nil {
		return loadLayout(log, sysDir)
	}
	bootID := string(bytes.TrimSpace(boot))
	path := filepath.Join(dir, layoutCacheFile)
	if b, err := os.ReadFile(path); err == nil && trustedDir(dir) == nil {
		var c layoutCache
		if err := json.Unmarshal(b, &c); err == nil && c.BootID == bootID && c.BTFSize == fi.Size() {
			if l, err := c.layout(); err == nil {
				return l, nil
			}
		}
		log.Debug("BPF layout cache is stale or damaged; reading BTF", "path", path)
	}
	l, err := loadLayout(log, sysDir)
	if err != nil {
		return l, err
	}
	if err := writeLayoutCache(dir, l.toCache(bootID, fi.Size())); err != nil {
		log.Debug("could not keep the BPF layout", "err", err)
	}
	return l, nil
}

// writeLayoutCache writes the file atomically, in a directory of mode
// 0700 that it makes if needed; it refuses a directory others may write.
func writeLayoutCache(dir string, c layoutCache) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("make %s: %w", dir, err)
	}
	if err := trustedDir(dir); err != nil {
		return err
	}
	b, err := json.Marshal(c)
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(dir, layoutCacheFile+".*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), filepath.Join(dir, layoutCacheFile))
}

// trustedDir checks that only we may write in dir.
func trustedDir(dir string) error {
	fi, err := os.Stat(dir)
	if err != nil {
		return err
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !fi.IsDir() || fi.Mode().Perm()&0o022 != 0 || !ok || int(st.Uid) != os.Geteuid() {
		return errors.New(dir + " is not a directory only we may write")
	}
	return nil
}
