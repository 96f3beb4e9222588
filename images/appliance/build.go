package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"time"

	"github.com/diskfs/go-diskfs/backend/file"
	"github.com/diskfs/go-diskfs/filesystem/fat32"
	"github.com/diskfs/go-diskfs/partition/gpt"
	"golang.org/x/sys/unix"

	"simplecloud/images/appliance/esp"
	"simplecloud/internal/cmdrun"
)

// build makes one image.
type build struct {
	Spec  Spec
	Deb   string // the package to install (make deb's .deb)
	Out   string // the image file
	Cache string // ~/.cache/simplecloud: the base roots and apt's archives
	Work  string // scratch directory (removed by the caller)
	Log   *slog.Logger
}

// run builds the image: the cached base root (or a new one), the package
// installed into a copy of it, the appliance's files, then the GPT, the
// ESP (FAT32, go-diskfs) and the root filesystem (mke2fs -d at the root
// partition's offset), all without a loop device or a mount.
func (b build) run(ctx context.Context) error {
	layout, err := NewLayout(b.Spec)
	if err != nil {
		return err
	}
	base, err := b.baseRoot(ctx)
	if err != nil {
		return err
	}
	root := filepath.Join(b.Work, "root")
	if err := os.MkdirAll(root, 0o755); err != nil {
		return err
	}
	start := time.Now()
	if err := run(ctx, "tar", "--numeric-owner", "-xpf", base, "-C", root); err != nil {
		return fmt.Errorf("unpack the base root: %w", err)
	}
	if err := installDeb(ctx, root, b.Deb); err != nil {
		return err
	}
	for _, f := range layout.RootFiles(b.Spec) {
		if err := writeRootFile(root, f); err != nil {
			return err
		}
	}
	names, err := filepath.Glob(filepath.Join(root, "boot", "vmlinuz-*"))
	if err != nil {
		return err
	}
	kernel, err := KernelVersion(names)
	if err != nil {
		return err
	}
	if err := clampTimes(root, b.Spec.Epoch); err != nil {
		return err
	}
	b.Log.Info("prepared the root", "kernel", kernel, "took", time.Since(start).Round(time.Millisecond))

	start = time.Now()
	tmp := b.Out + ".tmp"
	os.Remove(tmp)
	if err := writeDisk(tmp, layout, root, kernel); err != nil {
		return err
	}
	c := cmdrun.Cmd{Name: "mke2fs", Args: Mke2fsArgs(layout, root, tmp),
		Env: []string{"E2FSPROGS_FAKE_TIME=" + strconv.FormatInt(b.Spec.Epoch.Unix(), 10)}}
	if err := c.Run(ctx); err != nil {
		return fmt.Errorf("make the root filesystem: %w", err)
	}
	if err := setCtimes(ctx, root, tmp, layout, b.Spec.Epoch); err != nil {
		return err
	}
	if err := os.Rename(tmp, b.Out); err != nil {
		return err
	}
	b.Log.Info("wrote the image", "path", b.Out, "size", layout.Size, "took", time.Since(start).Round(time.Millisecond))
	return nil
}

// baseRoot returns the cached tarball of the base root, making it with
// mmdebstrap when missing (about 2-3 minutes; apt's downloads are kept in
// Cache/apt-archives for the next one).
func (b build) baseRoot(ctx context.Context) (string, error) {
	tar := filepath.Join(b.Cache, "appliance-base-"+BaseKey(b.Spec)+".tar")
	if _, err := os.Stat(tar); err == nil {
		b.Log.Info("using the cached base root", "path", tar)
		return tar, nil
	}
	archives := filepath.Join(b.Cache, "apt-archives")
	if err := os.MkdirAll(archives, 0o755); err != nil {
		return "", err
	}
	start := time.Now()
	tmp := tar + ".tmp.tar"
	c := cmdrun.Cmd{Name: "mmdebstrap", Args: MmdebstrapArgs(b.Spec, archives, tmp),
		Env: []string{"SOURCE_DATE_EPOCH=" + strconv.FormatInt(BaseEpoch, 10)}}
	if err := c.Run(ctx); err != nil {
		return "", fmt.Errorf("make the base root: %w", err)
	}
	if err := os.Rename(tmp, tar); err != nil {
		return "", err
	}
	b.Log.Info("made the base root", "path", tar, "took", time.Since(start).Round(time.Second))
	return tar, nil
}

// installDeb installs the package into root with dpkg in a chroot (its
// dependencies are in the base root), logging nowhere so that the root
// keeps no build time.
func installDeb(ctx context.Context, root, deb string) error {
	data, err := os.ReadFile(deb)
	if err != nil {
		return fmt.Errorf("install the package: %w", err)
	}
	in := filepath.Join(root, "tmp", "simplecloud.deb")
	if err := os.WriteFile(in, data, 0o644); err != nil {
		return fmt.Errorf("install the package: %w", err)
	}
	c := cmdrun.Cmd{Name: "chroot", Args: []string{root, "dpkg", "--log=/dev/null", "-i", "/tmp/simplecloud.deb"},
		Env: []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "DEBIAN_FRONTEND=noninteractive", "LC_ALL=C"}}
	if err := c.Run(ctx); err != nil {
		return fmt.Errorf("install the package: %w", err)
	}
	return os.Remove(in)
}

func writeRootFile(root string, f RootFile) error {
	p := filepath.Join(root, f.Path)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return err
	}
	if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	if f.Link != "" {
		return os.Symlink(f.Link, p)
	}
	return os.WriteFile(p, []byte(f.Text), 0o644)
}

// clampTimes sets every file's times to the epoch, so that what the build
// wrote carries no build time.
func clampTimes(root string, epoch time.Time) error {
	return filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		ts := []unix.Timespec{unix.NsecToTimespec(epoch.UnixNano()), unix.NsecToTimespec(epoch.UnixNano())}
		if err := unix.UtimesNanoAt(unix.AT_FDCWD, p, ts, unix.AT_SYMLINK_NOFOLLOW); err != nil {
			return fmt.Errorf("set the times of %s: %w", p, err)
		}
		return nil
	})
}

// setCtimes sets the change and access times of every inode mke2fs -d made from root to
// the epoch, with debugfs on the root partition inside the image.
func setCtimes(ctx context.Context, root, img string, l Layout, epoch time.Time) error {
	var paths []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(root, p)
		if err != nil {
			return err
		}
		paths = append(paths, filepath.Join("/", rel))
		return nil
	})
	if err != nil {
		return fmt.Errorf("set the change times: %w", err)
	}
	script, err := TimesScript(epoch, paths)
	if err != nil {
		return err
	}
	f := filepath.Join(filepath.Dir(root), "ctime.debugfs")
	if err := os.WriteFile(f, []byte(script), 0o644); err != nil {
		return err
	}
	dev := img + "?offset=" + strconv.FormatInt(l.Root.Offset(), 10)
	c := cmdrun.Cmd{Name: "debugfs", Args: []string{"-w", "-f", f, dev},
		Env: []string{"E2FSPROGS_FAKE_TIME=" + strconv.FormatInt(epoch.Unix(), 10)}}
	if err := c.Run(ctx); err != nil {
		return fmt.Errorf("set the change times: %w", err)
	}
	return nil
}

// writeDisk creates the image file with its GPT and the ESP's FAT32
// filesystem holding systemd-boot, its entry, the kernel and the initrd.
// The root partition is left for mke2fs.
func writeDisk(path string, l Layout, root, kernel string) error {
	// The gpt and fat32 packages, not go-diskfs's Disk, which would link
	// every filesystem it knows (squashfs's compressors, ISO 9660, ...).
	st, err := file.CreateFromPath(path, l.Size)
	if err != nil {
		return fmt.Errorf("create the image: %w", err)
	}
	defer st.Close()
	w, err := st.Writable()
	if err != nil {
		return fmt.Errorf("create the image: %w", err)
	}
	table := &gpt.Table{
		LogicalSectorSize: SectorSize, PhysicalSectorSize: SectorSize, ProtectiveMBR: true, GUID: l.DiskGUID,
		Partitions: []*gpt.Partition{
			{Index: 1, Start: l.ESP.Start, End: l.ESP.End, Type: gpt.EFISystemPartition, Name: l.ESP.Name, GUID: l.ESP.GUID},
			{Index: 2, Start: l.Root.Start, End: l.Root.End, Type: gpt.LinuxRootX86_64, Name: l.Root.Name, GUID: l.Root.GUID},
		},
	}
	if err := table.Write(w, l.Size); err != nil {
		return fmt.Errorf("write the partition table: %w", err)
	}
	fsys, err := fat32.Create(st, l.ESP.Bytes(), l.ESP.Offset(), SectorSize, "ESP", true)
	if err != nil {
		return fmt.Errorf("make the ESP: %w", err)
	}
	copies := ESPCopies(kernel)
	for _, dst := range sortedKeys(copies) {
		data, err := os.ReadFile(filepath.Join(root, copies[dst]))
		if err != nil {
			return fmt.Errorf("fill the ESP: %w", err)
		}
		if err := esp.Write(fsys, dst, data); err != nil {
			return err
		}
	}
	texts := l.ESPFiles(kernel)
	for _, dst := range sortedKeys(texts) {
		if err := esp.Write(fsys, dst, []byte(texts[dst])); err != nil {
			return err
		}
	}
	return nil
}

// sortedKeys returns m's keys in order: the ESP's files are written in the
// same order every time, so that they land in the same clusters.
func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func run(ctx context.Context, name string, args ...string) error {
	return cmdrun.Cmd{Name: name, Args: args}.Run(ctx)
}
