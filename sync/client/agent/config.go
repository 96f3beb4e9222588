package agent

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/BurntSushi/toml"

	"simplecloud/internal/xdg"
	"simplecloud/sync/client/remote"
)

// Modes of a folder.
const (
	ModeSync   = "sync"   // a local copy kept in step both ways
	ModeStream = "stream" // the server's files mounted with sshfs
)

// Folder is one [[folder]] of client.toml.
type Folder struct {
	Name      string  `toml:"name"`               // how commands and status name it; default: the local directory's name
	Local     string  `toml:"local"`              // absolute path: the synced folder or the mount point
	Remote    string  `toml:"remote"`             // USER@HOST:PATH
	Mode      string  `toml:"mode"`               // sync or stream
	Encrypt   bool    `toml:"encrypt,omitempty"`  // zero-knowledge: the server holds only ciphertext
	Key       string  `toml:"key,omitempty"`      // the folder key's id (default: the one key in the key store)
	Port      int     `toml:"port,omitempty"`     // ssh -p
	Identity  string  `toml:"identity,omitempty"` // ssh -i
	RSH       string  `toml:"rsh,omitempty"`      // the ssh command, as sync -e
	MaxDelete float64 `toml:"max_delete,omitempty"`
	Paused    bool    `toml:"paused,omitempty"`
}

// Config is client.toml: the folders a person keeps with servers.
type Config struct {
	Folders []Folder `toml:"folder"`
}

// ConfigPath returns $XDG_CONFIG_HOME/simplecloud/client.toml, with XDG's
// default ~/.config.
func ConfigPath() (string, error) {
	p, err := xdg.ConfigHome.Path(os.Getenv, "simplecloud", "client.toml")
	if err != nil {
		return "", fmt.Errorf("find the configuration directory: %w", err)
	}
	return p, nil
}

// Load reads and checks the configuration at path; a missing file is an
// empty configuration.
func Load(path string) (*Config, error) {
	var c Config
	md, err := toml.DecodeFile(path, &c)
	if errors.Is(err, os.ErrNotExist) {
		return &c, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	if un := md.Undecoded(); len(un) > 0 {
		return nil, fmt.Errorf("read %s: unknown key %s", path, un[0])
	}
	if err := c.Validate(); err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	return &c, nil
}

const configHeader = `# SimpleCloud client folders, kept in step by "simplecloud client run".
# Edit with "simplecloud client add|remove|pause|resume", or by hand: the
# running client picks up changes. Each [[folder]] has: name, local (an
# absolute path), remote (USER@HOST:PATH), mode ("sync": a local copy kept
# in step both ways; "stream": the server's files mounted with sshfs), and
# optionally encrypt (and key, the key's id), port, identity, rsh (the ssh command), max_delete
# (percent, default 50) and paused.

`

// Save writes c to path atomically (a temporary file renamed over it),
// readable by its owner only.
func (c *Config) Save(path string) error {
	if err := c.Validate(); err != nil {
		return err
	}
	var b bytes.Buffer
	b.WriteString(configHeader)
	if err := toml.NewEncoder(&b).Encode(c); err != nil {
		return fmt.Errorf("encode the configuration: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("save %s: %w", path, err)
	}
	f, err := os.CreateTemp(filepath.Dir(path), ".client.toml.tmp-*")
	if err != nil {
		return fmt.Errorf("save %s: %w", path, err)
	}
	defer os.Remove(f.Name())
	_, err = f.Write(b.Bytes())
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), path)
	}
	if err != nil {
		return fmt.Errorf("save %s: %w", path, err)
	}
	return nil
}

var nameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

// Validate checks every folder and that no two share a name or overlap
// locally.
func (c *Config) Validate() error {
	for i := range c.Folders {
		f := &c.Folders[i]
		if err := f.validate(); err != nil {
			return err
		}
		for _, g := range c.Folders[:i] {
			if g.Name == f.Name {
				return fmt.Errorf("two folders are named %q", f.Name)
			}
			if within(f.Local, g.Local) || within(g.Local, f.Local) {
				return fmt.Errorf("folders %q and %q overlap: %s and %s", g.Name, f.Name, g.Local, f.Local)
			}
		}
	}
	return nil
}

// within reports whether p is dir or below it.
func within(p, dir string) bool {
	return p == dir || strings.HasPrefix(p, strings.TrimSuffix(dir, "/")+"/")
}

func (f *Folder) validate() error {
	if !nameRE.MatchString(f.Name) {
		return fmt.Errorf("folder name %q: want letters, digits, '.', '_' or '-', starting with a letter or digit", f.Name)
	}
	if !filepath.IsAbs(f.Local) || filepath.Clean(f.Local) != f.Local || f.Local == "/" {
		return fmt.Errorf("folder %q: local %q is not a clean absolute path below /", f.Name, f.Local)
	}
	t, err := remote.ParseTarget(f.Remote)
	if err != nil {
		return fmt.Errorf("folder %q: remote: %w", f.Name, err)
	}
	switch f.Mode {
	case ModeSync:
	case ModeStream:
		if t.User == "" {
			return fmt.Errorf("folder %q: a stream folder's remote needs the user: USER@HOST:PATH", f.Name)
		}
	default:
		return fmt.Errorf("folder %q: mode %q: want %q or %q", f.Name, f.Mode, ModeSync, ModeStream)
	}
	if f.Encrypt && f.Mode == ModeStream {
		return fmt.Errorf("folder %q: encrypt = true: a stream folder cannot be encrypted (sshfs shows the server's files as they are); use mode = %q", f.Name, ModeSync)
	}
	if f.Key != "" && !f.Encrypt {
		return fmt.Errorf("folder %q: key %q without encrypt = true", f.Name, f.Key)
	}
	if f.Port < 0 || f.Port > 65535 {
		return fmt.Errorf("folder %q: port %d out of range", f.Name, f.Port)
	}
	if f.MaxDelete < 0 || f.MaxDelete > 100 {
		return fmt.Errorf("folder %q: max_delete %v: want a percentage from 0 to 100", f.Name, f.MaxDelete)
	}
	return nil
}

// Find returns the folder named, or whose local path is, key.
func (c *Config) Find(key string) (*Folder, error) {
	for i := range c.Folders {
		if f := &c.Folders[i]; f.Name == key || f.Local == key {
			return f, nil
		}
	}
	return nil, fmt.Errorf("no folder %q in the configuration", key)
}

// Add adds f, naming it after its local directory when it has no name.
func (c *Config) Add(f Folder) error {
	if f.Name == "" {
		f.Name = filepath.Base(f.Local)
	}
	if f.Mode == "" {
		f.Mode = ModeSync
	}
	next := Config{Folders: append(append([]Folder(nil), c.Folders...), f)}
	if err := next.Validate(); err != nil {
		return fmt.Errorf("add %s: %w", f.Local, err)
	}
	c.Folders = next.Folders
	return nil
}

// Remove takes the folder named, or whose local path is, key out of the
// configuration (its files stay where they are).
func (c *Config) Remove(key string) error {
	for i, f := range c.Folders {
		if f.Name == key || f.Local == key {
			c.Folders = append(c.Folders[:i:i], c.Folders[i+1:]...)
			return nil
		}
	}
	return fmt.Errorf("no folder %q in the configuration", key)
}

// SetPaused pauses or resumes the folder key.
func (c *Config) SetPaused(key string, paused bool) error {
	f, err := c.Find(key)
	if err != nil {
		return err
	}
	f.Paused = paused
	return nil
}
