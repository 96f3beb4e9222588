package provision

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/BurntSushi/toml"
)

// Config is /etc/simplecloud/simplecloud.toml, the only configuration file.
type Config struct {
	Volume VolumeConfig `toml:"volume"`
	Unlock UnlockConfig `toml:"unlock"`
	Server ServerConfig `toml:"server"`
}

// VolumeConfig names the data volume. UUID is the LUKS UUID: the volume is
// found by it, whatever the kernel calls the disk on this boot.
type VolumeConfig struct {
	UUID      string `toml:"uuid"`
	Label     string `toml:"label"`
	Name      string `toml:"name"`  // device-mapper name: /dev/mapper/NAME
	Mount     string `toml:"mount"` // mount point
	Disk      string `toml:"disk"`  // by-id name of the disk at install time, for people
	WholeDisk bool   `toml:"whole_disk"`
	Discard   bool   `toml:"discard"` // allow discards through dm-crypt
}

// UnlockConfig holds the defaults of `simplecloud unlock`, as crypttab's
// tries= and timeout=, and who may unlock over SSH (`unlock --serve`).
type UnlockConfig struct {
	Tries   int           `toml:"tries"`   // 0: unlimited
	Timeout time.Duration `toml:"timeout"` // 0: wait for ever
	// AdminGroup is the group whose members may unlock over SSH; empty
	// means DefaultAdminGroup.
	AdminGroup string `toml:"admin_group,omitempty"`
}

// ServerConfig holds the server settings the installer writes; `simplecloud
// serve --config` reads this table with every other server setting.
type ServerConfig struct {
	Listen string `toml:"listen"`
}

// Defaults of the configuration.
const (
	DefaultName   = "simplecloud"
	DefaultLabel  = "simplecloud"
	DefaultMount  = "/srv/simplecloud"
	DefaultListen = ":2222"
	DefaultTries  = 3
	// DefaultAdminGroup may unlock over SSH: its members can become root
	// anyway, so unlocking gives them nothing more.
	DefaultAdminGroup = "sudo"
)

// ErrNoConfig is returned by LoadConfig when there is no configuration file,
// or it names no data volume: nothing was installed.
var ErrNoConfig = errors.New("no configuration: the data disk is not installed (run simplecloud install)")

// LoadConfig reads and checks the configuration file at path. A missing
// file, or one that sets no volume.uuid (as a package ships it), is
// ErrNoConfig: nothing was installed.
func LoadConfig(path string) (*Config, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("read %s: %w", path, ErrNoConfig)
	}
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	var c Config
	md, err := toml.Decode(string(b), &c)
	if err != nil {
		return nil, fmt.Errorf("parse %s: %w", path, err)
	}
	if !md.IsDefined("volume", "uuid") {
		// The file as a package ships it (comments, or server settings
		// alone): no data volume yet.
		return nil, fmt.Errorf("read %s: no volume.uuid: %w", path, ErrNoConfig)
	}
	for _, k := range md.Undecoded() {
		// The rest of [server] is the server's to read (and check).
		if k[0] != "server" {
			return nil, fmt.Errorf("parse %s: unknown key %s", path, k)
		}
	}
	if err := c.Check(); err != nil {
		return nil, fmt.Errorf("check %s: %w", path, err)
	}
	return &c, nil
}

// Check reports a configuration that cannot be used.
func (c *Config) Check() error {
	switch {
	case c.Volume.UUID == "":
		return errors.New("volume.uuid is empty")
	case c.Volume.Name == "":
		return errors.New("volume.name is empty")
	case !filepath.IsAbs(c.Volume.Mount):
		return fmt.Errorf("volume.mount %q is not an absolute path", c.Volume.Mount)
	case c.Unlock.Tries < 0:
		return fmt.Errorf("unlock.tries %d is negative", c.Unlock.Tries)
	}
	return nil
}

// Marshal encodes the configuration with a header comment.
func (c *Config) Marshal() ([]byte, error) {
	var b bytes.Buffer
	b.WriteString("# SimpleCloud configuration, written by simplecloud install.\n")
	b.WriteString("# The data volume is found by its LUKS UUID.\n\n")
	if err := toml.NewEncoder(&b).Encode(c); err != nil {
		return nil, fmt.Errorf("encode config: %w", err)
	}
	return b.Bytes(), nil
}

// writeFileAtomic writes data to path through a temporary file in the same
// directory, synced and renamed, so a crash leaves the old file or the new one.
func writeFileAtomic(path string, data []byte, perm fs.FileMode) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("make %s: %w", filepath.Dir(path), err)
	}
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	defer os.Remove(f.Name())
	if _, err := f.Write(data); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := f.Chmod(perm); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("sync %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(f.Name(), path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}
