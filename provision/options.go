package provision

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"

	"simplecloud/disk/wipe"
	"simplecloud/luks"
	"simplecloud/luks/dm"
)

// WipeNone skips the wipe step.
const WipeNone wipe.Mode = "none"

// Options is what the user chose for an install. Zero fields take the
// defaults (see WithDefaults).
type Options struct {
	Disk        string     // the disk as the user named it: by-id name or path
	WholeDisk   bool       // LUKS on the bare disk instead of one GPT partition
	Wipe        wipe.Mode  // zero, random, discard, zeroout or none (default)
	Label       string     // LUKS and ext4 label
	Name        string     // device-mapper name
	Mount       string     // mount point
	Listen      string     // server address written to the configuration
	PBKDF       luks.PBKDF `json:"-"` // not encoded: it holds a progress callback
	RecoveryKey bool       // add a second keyslot opened by a generated recovery key
	Discard     bool       // let discards through dm-crypt (leaks which blocks are used)
	// Reformat is the new confirmation that allows formatting a disk that
	// holds the installed volume, or replacing an existing configuration.
	Reformat bool
}

// WithDefaults returns o with empty fields set to the defaults.
func (o Options) WithDefaults() Options {
	if o.Wipe == "" {
		o.Wipe = WipeNone
	}
	if o.Label == "" {
		o.Label = DefaultLabel
	}
	if o.Name == "" {
		o.Name = DefaultName
	}
	if o.Mount == "" {
		o.Mount = DefaultMount
	}
	if o.Listen == "" {
		o.Listen = DefaultListen
	}
	return o
}

// maxExt4Label is the size of the ext4 volume name field.
const maxExt4Label = 16

// Check reports options that cannot work, as a usage error would.
func (o Options) Check() error {
	if o.Wipe != WipeNone {
		if _, err := wipe.ParseMode(string(o.Wipe)); err != nil {
			return fmt.Errorf("check wipe mode: %w", err)
		}
	}
	switch {
	case o.Label == "" || len(o.Label) > maxExt4Label:
		return fmt.Errorf("check label %q: want 1 to %d bytes (the ext4 limit)", o.Label, maxExt4Label)
	case strings.ContainsAny(o.Label, "\x00\n\"'\\ "):
		return fmt.Errorf("check label %q: no spaces, quotes or control characters", o.Label)
	case !filepath.IsAbs(o.Mount) || filepath.Clean(o.Mount) == "/":
		return fmt.Errorf("check mount point %q: want an absolute path other than /", o.Mount)
	}
	if err := dm.ValidName(o.Name); err != nil {
		return fmt.Errorf("check name %q: %w", o.Name, err)
	}
	switch o.PBKDF.Type {
	case "", "argon2id", "argon2i", "pbkdf2":
	default:
		return fmt.Errorf("check pbkdf %q: want argon2id, argon2i or pbkdf2", o.PBKDF.Type)
	}
	if o.PBKDF.MaxMemoryKiB < 0 || o.PBKDF.IterTime < 0 || o.PBKDF.ForceIterations < 0 {
		return errors.New("check pbkdf: memory, time and iterations must not be negative")
	}
	return nil
}
