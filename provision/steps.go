package provision

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"simplecloud/internal/cmdrun"
	"simplecloud/luks"
)

// Subsystem is the LUKS2 subsystem label of volumes made by install.
const Subsystem = "simplecloud"

func (r *run) format() (string, error) {
	if err := r.begin(); err != nil {
		return "", err
	}
	o := r.p.Options
	dev, err := luks.OpenDevice(r.res.Target, true)
	if err != nil {
		return "", fmt.Errorf("format: %w", err)
	}
	defer dev.Close()
	if err := dev.Lock(true); err != nil {
		return "", fmt.Errorf("format: %w", err)
	}
	defer dev.Unlock()
	kdf := o.PBKDF
	kdf.Progress = func(b luks.Benchmark) {
		r.sink.emit(Event{Step: StepFormat, Kind: EventInfo, Message: fmt.Sprintf("KDF benchmark: %s, %d iterations, %d KiB, %d threads: %v",
			b.Type, b.Iterations, b.MemoryKiB, b.Threads, b.Elapsed.Round(1e6))})
	}
	h, vk, err := luks.Format(dev, luks.FormatOptions{Label: o.Label, Subsystem: Subsystem, Device: dev.Geometry, PBKDF: kdf}, r.sec.Passphrase)
	if err != nil {
		return "", fmt.Errorf("format %s: %w", r.res.Target, err)
	}
	r.hdr, r.vk, r.size = h, vk, dev.Geometry.Size
	r.res.UUID, r.res.Keyslots = h.UUID, 1
	r.state.UUID = h.UUID
	if len(r.sec.RecoveryKey) > 0 {
		if _, err := h.AddKeyslot(dev, vk, r.sec.RecoveryKey, luks.KeyslotOptions{Slot: luks.AnySlot, PBKDF: kdf}); err != nil {
			return "", fmt.Errorf("format %s: add the recovery key: %w", r.res.Target, err)
		}
		r.res.Keyslots = 2
	}
	if err := dev.Sync(); err != nil {
		return "", fmt.Errorf("format %s: %w", r.res.Target, err)
	}
	r.sink.emit(Event{Step: StepFormat, Kind: EventInfo, Message: "LUKS UUID " + h.UUID})
	return fmt.Sprintf("LUKS2 %s, UUID %s, %d keyslot(s)", h.Cipher(), h.UUID, r.res.Keyslots), nil
}

func (r *run) open() (string, error) {
	if err := r.mapper(); err != nil {
		return "", err
	}
	o := r.p.Options
	if err := r.removeHalfMade(o.Name); err != nil {
		return "", err
	}
	if err := activate(r.sys.Mapper, o.Name, r.hdr, r.res.Target, r.size, r.vk, o.Discard); err != nil {
		return "", err
	}
	clear(r.vk)
	r.opened = true
	if err := waitNode(r.res.Mapper); err != nil {
		return "", err
	}
	return "opened as " + r.res.Mapper, nil
}

func (r *run) mkfs(ctx context.Context) (string, error) {
	info, err := r.sys.mkfs(ctx, r.res.Mapper, r.p.Options.Label)
	if err != nil {
		return "", err
	}
	r.res.Ext4 = info
	return fmt.Sprintf("ext4, label %s, %d blocks of %d bytes, %d reserved", info.Label, info.BlockCount, info.BlockSize, info.ReservedBlocks), nil
}

func (r *run) mount() (string, error) {
	m := r.p.Options.Mount
	if err := os.MkdirAll(m, 0o755); err != nil {
		return "", fmt.Errorf("mount: %w", err)
	}
	if err := r.sys.Mounter.Mount(r.res.Mapper, m, "ext4", VolumeMountFlags); err != nil {
		return "", fmt.Errorf("mount: %w", err)
	}
	return "mounted at " + m, nil
}

func (r *run) configure() (string, error) {
	o := r.p.Options
	c := &Config{
		Volume: VolumeConfig{UUID: r.res.UUID, Label: o.Label, Name: o.Name, Mount: o.Mount, Disk: r.p.Disk.ID, WholeDisk: o.WholeDisk, Discard: o.Discard},
		Unlock: UnlockConfig{Tries: DefaultTries},
		Server: ServerConfig{Listen: o.Listen},
	}
	b, err := c.Marshal()
	if err != nil {
		return "", err
	}
	if err := writeFileAtomic(r.sys.ConfigPath(), b, 0o644); err != nil {
		return "", fmt.Errorf("configure: %w", err)
	}
	r.res.Config = r.sys.ConfigPath()
	bin := r.in.Binary
	if bin == "" {
		bin = "/usr/local/bin/simplecloud"
	}
	units, err := r.sys.writeUnits(bin, c)
	r.res.Units = units
	if err != nil {
		return "", fmt.Errorf("configure: %w", err)
	}
	return fmt.Sprintf("wrote %s and %s", r.res.Config, strings.Join(units, ", ")), nil
}

func (r *run) handoff(ctx context.Context) (string, error) {
	if !r.sys.Systemd() {
		r.res.Handoff = "systemd is not running: start the server with simplecloud serve"
		return r.res.Handoff, nil
	}
	for _, args := range [][]string{
		{"daemon-reload"},
		// UnlockUnit serves once the volume is open (it is now).
		{"enable", UnlockUnit},
		{"start", "--no-block", UnlockUnit},
	} {
		if _, err := r.sys.Runner.Output(ctx, cmdrun.Cmd{Name: "systemctl", Args: args}); err != nil {
			return "", fmt.Errorf("hand off to the server: %w", err)
		}
	}
	r.res.Handoff = UnlockUnit + " enabled and starting the server"
	return r.res.Handoff, nil
}

// waitNode makes sure the device node of a new mapping exists; dm makes it
// itself, udev may replace it with a symlink meanwhile.
func waitNode(path string) error {
	if _, err := os.Stat(path); err != nil {
		return fmt.Errorf("open: no device node %s: %w", filepath.Base(path), err)
	}
	return nil
}

// removeHalfMade removes a mapping the interrupted install this one resumes
// left behind while it made it: killed between creating the device and
// loading its table, it has the earlier run's device-mapper UUID but holds
// nothing, so the plan's cleanup (which closes the disk's holders) did not
// see it. A mapping with any other UUID is left alone (activate refuses
// it), and one in use cannot be removed.
func (r *run) removeHalfMade(name string) error {
	rs := r.p.Resume
	if rs == nil || rs.UUID == "" {
		return nil
	}
	info, err := r.sys.Mapper.Info(name)
	if err != nil || !info.Exists || !ownMapping(info.UUID, rs.UUID, name) {
		return nil
	}
	if err := r.sys.Mapper.Remove(name); err != nil {
		return fmt.Errorf("open: remove %s, left by the interrupted install: %w", name, err)
	}
	r.sink.emit(Event{Step: StepOpen, Kind: EventInfo, Message: "removed " + name + ", left half made by the interrupted install"})
	return nil
}
