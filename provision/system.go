package provision

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"

	"simplecloud/disk"
	"simplecloud/internal/cmdrun"
	"simplecloud/luks/dm"
)

// Runner runs an external program and returns its standard output; errors
// are *cmdrun.Error. cmdrun's Cmd.Output is the real one.
type Runner interface {
	Output(ctx context.Context, c cmdrun.Cmd) ([]byte, error)
}

// Mapper is the part of device-mapper the pipeline uses; *dm.Control is the
// real one. Its methods may be called from one goroutine at a time.
type Mapper interface {
	CreateCrypt(name, uuid string, t dm.CryptTarget) error
	Info(name string) (dm.Info, error)
	Remove(name string) error
}

// Mounter mounts and unmounts filesystems; unixMounter is the real one.
// Mount's flags are mount(2)'s (unix.MS_*).
type Mounter interface {
	Mount(source, target, fstype string, flags uintptr) error
	Unmount(target string) error
}

// VolumeMountFlags are the data volume's mount flags, for install and
// unlock alike: nosuid and nodev. The users write the volume over SFTP, and
// a set-user-id file or a device node one of them makes there (chmod 4755
// works over SFTP) must give nobody anything.
const VolumeMountFlags = unix.MS_NOSUID | unix.MS_NODEV

// System is every OS edge of the pipeline. Paths are as the machine sees
// them; tests point them at temporary directories.
type System struct {
	Etc  string // "/etc": simplecloud/simplecloud.toml and systemd/system live below
	Dev  string // "/dev"
	Sys  string // "/sys"
	Run  string // "/run": run/systemd/system exists when systemd is the init
	Proc string // "/proc"

	Runner  Runner
	Mapper  Mapper // nil until OpenMapper
	Mounter Mounter
	// Discover lists the disks with the guard's verdict applied; the guard
	// step calls it again right before writing.
	Discover func(ctx context.Context) ([]disk.Disk, error)
	// Mke2fs, Dumpe2fs and E2fsck are the e2fsprogs programs; empty means
	// FindE2fsprogs chooses.
	Mke2fs, Dumpe2fs, E2fsck string
	Log                      *slog.Logger
	// NoHandoff leaves the server alone after an unlock: the caller is
	// the server (unlock --serve).
	NoHandoff bool
}

// ConfigPath is where the configuration file lives.
func (s *System) ConfigPath() string {
	return filepath.Join(s.Etc, "simplecloud", "simplecloud.toml")
}

// StatePath is where an install in progress keeps its State.
func (s *System) StatePath() string {
	return filepath.Join(s.Etc, "simplecloud", "install-state.toml")
}

// UnitDir is where the systemd units are written.
func (s *System) UnitDir() string {
	return filepath.Join(s.Etc, "systemd", "system")
}

// Systemd reports whether systemd is the running init.
func (s *System) Systemd() bool {
	_, err := os.Stat(filepath.Join(s.Run, "systemd", "system"))
	return err == nil
}

func (s *System) log() *slog.Logger {
	if s.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return s.Log.With("component", "provision")
}

// HostSystem returns the System of the running machine, with discover as
// the disk lister. Its Mapper is nil: device-mapper is opened on first use by
// OpenMapper, so that a dry run or a plan needs no /dev/mapper/control.
func HostSystem(log *slog.Logger, discover func(ctx context.Context) ([]disk.Disk, error)) System {
	return System{
		Etc: "/etc", Dev: "/dev", Sys: "/sys", Run: "/run", Proc: "/proc",
		Runner: execRunner{}, Mounter: unixMounter{}, Discover: discover, Log: log,
	}
}

// OpenMapper opens the device-mapper control node below s.Dev when no
// Mapper is set. The returned function closes it.
func (s *System) OpenMapper() (func(), error) {
	if s.Mapper != nil {
		return func() {}, nil
	}
	c, err := dm.OpenPath(filepath.Join(s.Dev, "mapper"))
	if err != nil {
		return nil, err
	}
	s.Mapper = c
	return func() { c.Close(); s.Mapper = nil }, nil
}

type execRunner struct{}

func (execRunner) Output(ctx context.Context, c cmdrun.Cmd) ([]byte, error) { return c.Output(ctx) }

type unixMounter struct{}

func (unixMounter) Mount(source, target, fstype string, flags uintptr) error {
	if err := unix.Mount(source, target, fstype, flags, ""); err != nil {
		return &os.PathError{Op: "mount " + source + " on", Path: target, Err: err}
	}
	return nil
}

func (unixMounter) Unmount(target string) error {
	if err := unix.Unmount(target, 0); err != nil {
		return &os.PathError{Op: "unmount", Path: target, Err: err}
	}
	return nil
}
