package main

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"path"
	"sort"
	"strconv"
	"strings"
	"time"
)

// SectorSize is the image's logical sector size.
const SectorSize = 512

// MiB is a mebibyte.
const MiB = 1 << 20

// Spec is what an image is made from, besides the package: every field
// goes into the cache key of the base root, or into the image directly.
type Spec struct {
	Suite    string    // Debian release: bookworm
	Mirror   string    // Debian mirror
	Packages []string  // installed besides minbase
	Epoch    time.Time // SOURCE_DATE_EPOCH: every timestamp and the derived UUIDs
	ESPSize  int64     // bytes of the EFI system partition
	RootSize int64     // bytes of the root partition
	Hostname string
}

// DefaultSpec is the appliance as make image builds it. The packages are
// what boots and runs simplecloud: systemd as init, udev for the by-id
// names the installer shows, kmod to load dm-crypt, the cloud kernel
// (virtio, no firmware), systemd-boot's EFI binary and e2fsprogs (the
// package's dependency).
func DefaultSpec(epoch time.Time) Spec {
	return Spec{
		Suite:  "bookworm",
		Mirror: "http://deb.debian.org/debian",
		Packages: []string{"systemd", "systemd-sysv", "udev", "kmod", "linux-image-cloud-amd64",
			"systemd-boot-efi", "e2fsprogs"},
		Epoch:    epoch,
		ESPSize:  128 * MiB,
		RootSize: 1536 * MiB,
		Hostname: "simplecloud",
	}
}

// Layout is the image's GPT: an EFI system partition, then the root, with
// 1 MiB before the first (protective MBR, GPT header and entries, aligned)
// and 1 MiB after the last (the backup GPT).
type Layout struct {
	Size     int64 // bytes of the whole image
	DiskGUID string
	ESP      Part
	Root     Part
	RootFS   string // ext4 UUID of the root filesystem
	HashSeed string // ext4 directory hash seed
}

// Part is one partition, in sectors (End inclusive, as GPT has it).
type Part struct {
	Start, End uint64
	GUID       string
	Name       string
}

// Offset is where the partition begins, in bytes.
func (p Part) Offset() int64 { return int64(p.Start) * SectorSize }

// Bytes is the partition's size.
func (p Part) Bytes() int64 { return int64(p.End-p.Start+1) * SectorSize }

// NewLayout places the partitions and derives every UUID from the epoch, so
// that the same inputs give the same image.
func NewLayout(s Spec) (Layout, error) {
	if s.ESPSize < 64*MiB || s.ESPSize%MiB != 0 {
		return Layout{}, fmt.Errorf("plan layout: ESP size %d: want a whole number of MiB, at least 64", s.ESPSize)
	}
	if s.RootSize < 512*MiB || s.RootSize%MiB != 0 {
		return Layout{}, fmt.Errorf("plan layout: root size %d: want a whole number of MiB, at least 512", s.RootSize)
	}
	const gap = MiB / SectorSize
	esp := Part{Start: gap, Name: "EFI system", GUID: derivedUUID(s.Epoch, "esp")}
	esp.End = esp.Start + uint64(s.ESPSize/SectorSize) - 1
	root := Part{Start: esp.End + 1, Name: "root", GUID: derivedUUID(s.Epoch, "root-partition")}
	root.End = root.Start + uint64(s.RootSize/SectorSize) - 1
	return Layout{
		Size:     int64(root.End+1+gap) * SectorSize,
		DiskGUID: derivedUUID(s.Epoch, "disk"),
		ESP:      esp,
		Root:     root,
		RootFS:   derivedUUID(s.Epoch, "root-filesystem"),
		HashSeed: derivedUUID(s.Epoch, "root-hash-seed"),
	}, nil
}

// derivedUUID returns a UUID (version 4 and variant bits set, so that every
// tool takes it) made from a hash of the epoch and name.
func derivedUUID(epoch time.Time, name string) string {
	h := sha256.Sum256([]byte("simplecloud-appliance " + strconv.FormatInt(epoch.Unix(), 10) + " " + name))
	h[6] = h[6]&0x0f | 0x40
	h[8] = h[8]&0x3f | 0x80
	x := hex.EncodeToString(h[:16])
	return strings.ToUpper(x[0:8] + "-" + x[8:12] + "-" + x[12:16] + "-" + x[16:20] + "-" + x[20:32])
}

// Cmdline is the kernel command line: the root by its filesystem UUID, and
// the kernel's messages on both the screen and the serial line. The last
// console= is /dev/console, where simplecloud-unlock.service asks today:
// the serial line, so that a headless server and qemu -nographic see it.
func (l Layout) Cmdline() string {
	return "root=UUID=" + strings.ToLower(l.RootFS) + " ro console=tty1 console=ttyS0,115200 panic=30"
}

// ESPFiles returns the boot loader's text files on the ESP by path:
// systemd-boot's loader.conf and one entry, which boots the kernel and
// initrd copied to /simplecloud/ on the ESP. (The EFI binaries are copied
// from the root.)
func (l Layout) ESPFiles(kernelVersion string) map[string]string {
	return map[string]string{
		"/loader/loader.conf": "default simplecloud.conf\ntimeout 0\nconsole-mode keep\neditor no\n",
		"/loader/entries/simplecloud.conf": fmt.Sprintf("title SimpleCloud appliance (Debian %s)\nlinux /simplecloud/vmlinuz\ninitrd /simplecloud/initrd.img\noptions %s\n",
			kernelVersion, l.Cmdline()),
	}
}

// ESPCopies maps ESP paths to the root's files they are copied from.
func ESPCopies(kernelVersion string) map[string]string {
	return map[string]string{
		"/EFI/BOOT/BOOTX64.EFI":            "/usr/lib/systemd/boot/efi/systemd-bootx64.efi",
		"/EFI/systemd/systemd-bootx64.efi": "/usr/lib/systemd/boot/efi/systemd-bootx64.efi",
		"/simplecloud/vmlinuz":             "/boot/vmlinuz-" + kernelVersion,
		"/simplecloud/initrd.img":          "/boot/initrd.img-" + kernelVersion,
	}
}

// RootFile is one file (or symlink, when Link is set) the image writes into
// the root after the package is installed.
type RootFile struct {
	Path string
	Text string
	Link string
}

// RootFiles returns the appliance's own files: fstab, the host name, DHCP
// on wired links with systemd-networkd, an empty machine-id (first boot),
// and the enablement of the first-boot installer on tty1 and ttyS0.
func (l Layout) RootFiles(s Spec) []RootFile {
	wants := "/etc/systemd/system/multi-user.target.wants/"
	files := []RootFile{
		{Path: "/etc/fstab", Text: fmt.Sprintf("# The appliance's file systems, by UUID (written by images/appliance).\nUUID=%s / ext4 errors=remount-ro 0 1\nPARTUUID=%s /boot/efi vfat umask=0077,nofail 0 2\n",
			strings.ToLower(l.RootFS), strings.ToLower(l.ESP.GUID))},
		{Path: "/etc/hostname", Text: s.Hostname + "\n"},
		{Path: "/etc/hosts", Text: "127.0.0.1\tlocalhost\n127.0.1.1\t" + s.Hostname + "\n::1\tlocalhost ip6-localhost ip6-loopback\n"},
		{Path: "/etc/resolv.conf", Text: "# No name server configured (the appliance needs none to serve).\n"},
		{Path: "/etc/machine-id", Text: ""},
		{Path: "/etc/systemd/network/80-wired.network", Text: "[Match]\nType=ether\n\n[Network]\nDHCP=yes\n"},
		{Path: wants + "systemd-networkd.service", Link: "/lib/systemd/system/systemd-networkd.service"},
		{Path: "/etc/systemd/system/sockets.target.wants/systemd-networkd.socket", Link: "/lib/systemd/system/systemd-networkd.socket"},
	}
	for _, tty := range []string{"tty1", "ttyS0"} {
		files = append(files, RootFile{Path: wants + "simplecloud-firstboot@" + tty + ".service", Link: "/lib/systemd/system/simplecloud-firstboot@.service"})
	}
	sort.Slice(files, func(i, j int) bool { return files[i].Path < files[j].Path })
	return files
}

// MmdebstrapArgs returns mmdebstrap's arguments for the base root (minbase
// and the spec's packages, as a tarball at out). Downloaded packages are
// kept in archives between builds: synced in before apt runs and out after,
// then removed from the root.
func MmdebstrapArgs(s Spec, archives, out string) []string {
	return []string{
		"--quiet", "--variant=minbase", "--skip=download/empty",
		"--include=" + strings.Join(s.Packages, ","),
		"--setup-hook=mkdir -p \"$1\"/var/cache/apt/archives/",
		"--setup-hook=sync-in " + archives + " /var/cache/apt/archives/",
		"--customize-hook=sync-out /var/cache/apt/archives " + archives,
		"--customize-hook=rm -f \"$1\"/var/cache/apt/archives/*.deb",
		s.Suite, out, s.Mirror,
	}
}

// BaseEpoch is SOURCE_DATE_EPOCH for mmdebstrap. The base root is cached
// across commits, so it does not take the commit's time; the build sets
// every file's time to Spec.Epoch afterwards.
const BaseEpoch = 1704067200 // 2024-01-01

// BaseKey names the cached base root: a hash of what mmdebstrap is given.
// The mirror's state is not in it: a base root stays until it is removed
// (make image-refresh) and so gives the same image again.
func BaseKey(s Spec) string {
	h := sha256.Sum256([]byte(strings.Join(append([]string{s.Suite, s.Mirror}, s.Packages...), "\n")))
	return s.Suite + "-" + hex.EncodeToString(h[:6])
}

// Mke2fsArgs returns mke2fs's arguments to build the root filesystem from
// dir straight into the image's root partition (at its offset in img), with
// the layout's UUID and hash seed so that the same tree gives the same
// bytes.
func Mke2fsArgs(l Layout, dir, img string) []string {
	return []string{
		"-q", "-F", "-t", "ext4", "-L", "root", "-U", strings.ToLower(l.RootFS),
		"-E", fmt.Sprintf("offset=%d,hash_seed=%s,nodiscard,lazy_itable_init=0", l.Root.Offset(), strings.ToLower(l.HashSeed)),
		"-d", dir, img, strconv.FormatInt(l.Root.Bytes()/1024, 10) + "k",
	}
}

// TimesScript returns debugfs commands that set the change and access
// times of each path (as the root sees it) to the epoch. mke2fs -d copies
// each file's ctime, which is when the build wrote the file on the host and
// cannot be set there, and its atime, which the build's own reads move.
func TimesScript(epoch time.Time, paths []string) (string, error) {
	var b strings.Builder
	at := "@" + strconv.FormatInt(epoch.Unix(), 10)
	for _, p := range paths {
		if strings.ContainsAny(p, "\"\n") {
			return "", fmt.Errorf("set the change times: cannot quote %q for debugfs", p)
		}
		fmt.Fprintf(&b, "sif \"%[1]s\" ctime %[2]s\nsif \"%[1]s\" atime %[2]s\n", p, at)
	}
	return b.String(), nil
}

// KernelVersion returns the version of the one kernel under /boot, given
// the names in that directory.
func KernelVersion(names []string) (string, error) {
	var found []string
	for _, n := range names {
		if v, ok := strings.CutPrefix(path.Base(n), "vmlinuz-"); ok {
			found = append(found, v)
		}
	}
	if len(found) != 1 {
		return "", fmt.Errorf("find the kernel: want one /boot/vmlinuz-*, found %d (%s)", len(found), strings.Join(found, ", "))
	}
	return found[0], nil
}
