package provision

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"

	"simplecloud/internal/cmdrun"
)

// FindE2fsprogs finds the e2fsprogs program name (mke2fs, dumpe2fs or
// e2fsck) on PATH and in the sbin directories, skipping busybox applets of
// the same name: busybox's mke2fs makes no ext4 and ignores -m.
func FindE2fsprogs(name string) (string, error) {
	dirs := append(filepath.SplitList(os.Getenv("PATH")), "/usr/sbin", "/sbin", "/usr/bin", "/bin")
	seen := map[string]bool{}
	for _, d := range dirs {
		p := filepath.Join(d, name)
		if seen[p] || d == "" {
			continue
		}
		seen[p] = true
		real, err := filepath.EvalSymlinks(p)
		if err != nil {
			continue
		}
		if filepath.Base(real) == "busybox" {
			continue
		}
		if st, err := os.Stat(real); err == nil && st.Mode().IsRegular() && st.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	return "", fmt.Errorf("find %s: %w (install e2fsprogs; busybox's applet will not do)", name, exec.ErrNotFound)
}

func (s *System) e2fsprog(name string) (string, error) {
	switch {
	case name == "mke2fs" && s.Mke2fs != "":
		return s.Mke2fs, nil
	case name == "dumpe2fs" && s.Dumpe2fs != "":
		return s.Dumpe2fs, nil
	case name == "e2fsck" && s.E2fsck != "":
		return s.E2fsck, nil
	}
	return FindE2fsprogs(name)
}

// Ext4Info is what dumpe2fs -h says about a filesystem, the part we check.
type Ext4Info struct {
	Label          string
	UUID           string
	BlockCount     uint64
	ReservedBlocks uint64
	BlockSize      uint64
	Features       []string
}

// ParseDumpe2fs reads the output of dumpe2fs -h.
func ParseDumpe2fs(out []byte) (Ext4Info, error) {
	var info Ext4Info
	found := map[string]bool{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		var err error
		switch k {
		case "Filesystem volume name":
			if v != "<none>" {
				info.Label = v
			}
		case "Filesystem UUID":
			info.UUID = v
		case "Block count":
			info.BlockCount, err = strconv.ParseUint(v, 10, 64)
		case "Reserved block count":
			info.ReservedBlocks, err = strconv.ParseUint(v, 10, 64)
		case "Block size":
			info.BlockSize, err = strconv.ParseUint(v, 10, 64)
		case "Filesystem features":
			info.Features = strings.Fields(v)
		default:
			continue
		}
		if err != nil {
			return info, fmt.Errorf("parse dumpe2fs %q: %w", k, err)
		}
		found[k] = true
	}
	for _, k := range []string{"Block count", "Reserved block count", "Filesystem features"} {
		if !found[k] {
			return info, fmt.Errorf("parse dumpe2fs: no %q line", k)
		}
	}
	return info, nil
}

// IsExt4 reports whether the features are those of ext4 (extents).
func (i Ext4Info) IsExt4() bool {
	for _, f := range i.Features {
		if f == "extent" || f == "extents" {
			return true
		}
	}
	return false
}

// mkfs makes the ext4 filesystem on dev and checks it with dumpe2fs.
func (s *System) mkfs(ctx context.Context, dev, label string) (Ext4Info, error) {
	mke2fs, err := s.e2fsprog("mke2fs")
	if err != nil {
		return Ext4Info{}, err
	}
	dumpe2fs, err := s.e2fsprog("dumpe2fs")
	if err != nil {
		return Ext4Info{}, err
	}
	if _, err := s.Runner.Output(ctx, cmdrun.Cmd{Name: mke2fs, Args: []string{"-q", "-F", "-t", "ext4", "-m", "0", "-L", label, dev}}); err != nil {
		return Ext4Info{}, fmt.Errorf("make ext4 on %s: %w", dev, err)
	}
	out, err := s.Runner.Output(ctx, cmdrun.Cmd{Name: dumpe2fs, Args: []string{"-h", dev}})
	if err != nil {
		return Ext4Info{}, fmt.Errorf("check ext4 on %s: %w", dev, err)
	}
	info, err := ParseDumpe2fs(out)
	if err != nil {
		return info, fmt.Errorf("check ext4 on %s: %w", dev, err)
	}
	switch {
	case !info.IsExt4():
		return info, fmt.Errorf("check ext4 on %s: no extent feature (features %s): %s is not e2fsprogs' mke2fs?", dev, strings.Join(info.Features, " "), mke2fs)
	case info.ReservedBlocks != 0:
		return info, fmt.Errorf("check ext4 on %s: got %d reserved blocks, want 0", dev, info.ReservedBlocks)
	case info.Label != label:
		return info, fmt.Errorf("check ext4 on %s: got label %q, want %q", dev, info.Label, label)
	}
	return info, nil
}

// fsck runs e2fsck -p on dev. Exit status 1 (errors corrected) is success;
// 2 (corrected, reboot advised) too, since nothing is mounted from it yet.
func (s *System) fsck(ctx context.Context, dev string) (string, error) {
	e2fsck, err := s.e2fsprog("e2fsck")
	if err != nil {
		return "", err
	}
	out, err := s.Runner.Output(ctx, cmdrun.Cmd{Name: e2fsck, Args: []string{"-p", dev}})
	var ce *cmdrun.Error
	if errors.As(err, &ce) && (ce.Exit == 1 || ce.Exit == 2) {
		return "errors corrected: " + strings.TrimSpace(ce.Stderr+" "+string(out)), nil
	}
	if err != nil {
		return "", fmt.Errorf("check filesystem on %s: %w", dev, err)
	}
	return strings.TrimSpace(string(out)), nil
}
