package provision

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"

	"simplecloud/internal/cmdrun"
	"simplecloud/luks"
)

// Prompter asks for a passphrase. attempt counts from 1; last is why the
// previous attempt failed (nil on the first). It returns ErrCancelled when
// the user gives up, or ctx's error when the time is up. The returned slice
// belongs to the caller, which zeroes it.
type Prompter interface {
	Passphrase(ctx context.Context, attempt int, last error) ([]byte, error)
}

// UnlockResult is what an unlock did.
type UnlockResult struct {
	Device      string `json:"device"` // the device carrying the LUKS header
	UUID        string `json:"uuid"`
	Mapper      string `json:"mapper"`
	Mount       string `json:"mount"`
	Slot        int    `json:"slot"` // keyslot that opened; -1 when already open
	Fsck        string `json:"fsck,omitempty"`
	AlreadyOpen bool   `json:"already_open"`
	Handoff     string `json:"handoff"`
}

// String says for people what an unlock did.
func (r *UnlockResult) String() string {
	if r.AlreadyOpen {
		return fmt.Sprintf("The data volume was already open; it is mounted at %s.\n", r.Mount)
	}
	return fmt.Sprintf("Unlocked %s (keyslot %d) as %s, mounted at %s.\n%s\n", r.Device, r.Slot, r.Mapper, r.Mount, r.Handoff)
}

// Unlock opens the configured volume with key (a key file's contents or a
// recovery key), or, when key is nil, with passphrases from prompt, at most
// tries times (0: no limit). It then checks the filesystem (e2fsck -p),
// mounts it and hands off to the server. An already open volume is checked
// and mounted if it is not mounted, and reported with ErrAlreadyOpen.
func (s *System) Unlock(ctx context.Context, cfg *Config, key []byte, prompt Prompter, tries int) (*UnlockResult, error) {
	v := cfg.Volume
	res := &UnlockResult{UUID: v.UUID, Mount: v.Mount, Mapper: filepath.Join(s.Dev, "mapper", v.Name), Slot: -1}
	closeM, err := s.OpenMapper()
	if err != nil {
		return nil, fmt.Errorf("unlock: %w", err)
	}
	defer closeM()
	info, err := s.Mapper.Info(v.Name)
	if err != nil {
		return nil, fmt.Errorf("unlock: %w", err)
	}
	if info.Exists {
		if info.UUID != "" && !ownMapping(info.UUID, v.UUID, v.Name) {
			return nil, fmt.Errorf("unlock: /dev/mapper/%s is another device (uuid %s)", v.Name, info.UUID)
		}
		res.AlreadyOpen = true
		if err := s.checkAndMount(ctx, res); err != nil {
			return res, err
		}
		return res, fmt.Errorf("unlock %s: %w (mounted at %s)", v.UUID, ErrAlreadyOpen, v.Mount)
	}
	path, err := s.FindVolume(v.UUID)
	if err != nil {
		return nil, err
	}
	res.Device = path
	if err := s.open(ctx, cfg, path, key, prompt, tries, res); err != nil {
		return res, err
	}
	if err := s.checkAndMount(ctx, res); err != nil {
		return res, err
	}
	res.Handoff = s.startServer(ctx)
	return res, nil
}

// open reads the header, recovers the volume key and maps the volume.
func (s *System) open(ctx context.Context, cfg *Config, path string, key []byte, prompt Prompter, tries int, res *UnlockResult) error {
	v, err := luks.OpenVolume(path, false)
	if err != nil {
		return fmt.Errorf("unlock: %w", err)
	}
	defer v.Close()
	var vk []byte
	switch {
	case key != nil:
		vk, res.Slot, err = v.Header.Unlock(v.Dev, key, luks.AnySlot)
	case prompt == nil:
		err = errors.New("no key file and no terminal to ask for the passphrase")
	default:
		vk, res.Slot, err = v.UnlockAsking(luks.AnySlot, tries, func(attempt int, last error) ([]byte, error) {
			return prompt.Passphrase(ctx, attempt, last)
		})
	}
	if err != nil {
		return fmt.Errorf("unlock %s: %w", path, err)
	}
	defer clear(vk)
	return activate(s.Mapper, cfg.Volume.Name, v.Header, path, v.Dev.Geometry.Size, vk, cfg.Volume.Discard)
}

// checkAndMount runs e2fsck -p and mounts the volume unless it is mounted.
func (s *System) checkAndMount(ctx context.Context, res *UnlockResult) error {
	if mounted, err := s.isMounted(res.Mount); err != nil || mounted {
		return err
	}
	msg, err := s.fsck(ctx, res.Mapper)
	if err != nil {
		return fmt.Errorf("unlock: %w; the volume stays open: repair it with e2fsck %s, then run simplecloud unlock again", err, res.Mapper)
	}
	res.Fsck = msg
	if err := os.MkdirAll(res.Mount, 0o755); err != nil {
		return fmt.Errorf("unlock: %w", err)
	}
	if err := s.Mounter.Mount(res.Mapper, res.Mount, "ext4", VolumeMountFlags); err != nil {
		return fmt.Errorf("unlock: %w", err)
	}
	return nil
}

func (s *System) startServer(ctx context.Context) string {
	if s.NoHandoff {
		return "the server goes on serving"
	}
	if !s.Systemd() {
		return "systemd is not running: start the server with simplecloud serve"
	}
	// UnlockUnit finds the volume open and serves; when it is already
	// running, waiting for a passphrase, it notices the volume opened.
	if _, err := s.Runner.Output(ctx, cmdrun.Cmd{Name: "systemctl", Args: []string{"start", "--no-block", UnlockUnit}}); err != nil {
		s.log().Warn("start the server", "err", err)
		return "could not start " + UnlockUnit + ": " + err.Error()
	}
	return "started " + UnlockUnit
}

// FindVolume returns the device node of the block device whose LUKS header
// has the given UUID, looking at every block device in sysfs (no udev or
// /dev/disk/by-uuid needed). Several matches are an error: a cloned disk.
func (s *System) FindVolume(uuid string) (string, error) {
	ents, err := os.ReadDir(filepath.Join(s.Sys, "class", "block"))
	if err != nil {
		return "", fmt.Errorf("find volume %s: %w", uuid, err)
	}
	var found []string
	for _, e := range ents {
		node := filepath.Join(s.Dev, e.Name())
		f, err := os.Open(node)
		if err != nil {
			continue
		}
		h, err := luks.ReadHeader(f)
		f.Close()
		if err == nil && h.UUID == uuid {
			found = append(found, node)
		}
	}
	sort.Strings(found)
	switch len(found) {
	case 0:
		return "", fmt.Errorf("find volume %s: %w: no block device has this LUKS UUID", uuid, ErrMissingDisk)
	case 1:
		return found[0], nil
	}
	return "", fmt.Errorf("find volume %s: %d devices carry it (%v): a cloned disk? unplug all but one", uuid, len(found), found)
}
