package dm

import (
	"errors"
	"fmt"
	"time"

	"golang.org/x/sys/unix"
)

// CreateCrypt creates device name with the given uuid (may be empty; use a
// "CRYPT-<TYPE>-" prefix for cryptsetup to recognise it), loads t as its
// only target, resumes it and makes the node dir/name. On any failure it
// removes what it created. The key is copied into one ioctl buffer, which
// is zeroed when the ioctl returns; t.Key itself is left untouched.
func (c *Control) CreateCrypt(name, uuid string, t CryptTarget) error {
	if err := ValidName(name); err != nil {
		return fmt.Errorf("create %q: %w", name, err)
	}
	if err := ValidUUID(uuid); err != nil {
		return fmt.Errorf("create %q: %w", name, err)
	}
	spec, err := cryptSpec(t)
	if err != nil {
		return fmt.Errorf("create %q: %w", name, err)
	}
	defer clear(spec)

	var dev uint64
	keepDev := func(h header, _ []byte) error {
		dev = h.Dev
		return nil
	}
	if err := c.run(unix.DM_DEV_CREATE, header{Name: name, UUID: uuid}, nil, keepDev); err != nil {
		if errors.Is(err, unix.EBUSY) {
			err = ErrExists
		}
		return fmt.Errorf("create %q: %w", name, err)
	}
	undo := func(err error) error {
		if rerr := c.removeCreated(name); rerr != nil {
			return fmt.Errorf("%w (and removing the half-made device failed: %v)", err, rerr)
		}
		return err
	}

	load := header{Name: name, TargetCount: 1, Flags: flagSecureData}
	if t.ReadOnly {
		load.Flags |= flagReadOnly
	}
	klog := followKernelLog(c.kmsg)
	defer klog.close()
	if err := c.run(unix.DM_TABLE_LOAD, load, spec, nil); err != nil {
		return undo(fmt.Errorf("create %q: load crypt table: %w (%s)", name, err, klog.explain(decodeDev(dev))))
	}
	clear(spec)
	if err := c.run(unix.DM_DEV_SUSPEND, header{Name: name}, nil, keepDev); err != nil {
		return undo(fmt.Errorf("create %q: resume: %w (%s)", name, err, klog.explain(decodeDev(dev))))
	}
	if err := makeNode(c.dir, name, decodeDev(dev)); err != nil {
		return undo(fmt.Errorf("create %q: %w", name, err))
	}
	return nil
}

// cryptSpec builds the DM_TABLE_LOAD payload for t: one target spec and
// the table line. The caller clears it.
func cryptSpec(t CryptTarget) ([]byte, error) {
	params, err := t.params()
	if err != nil {
		return nil, err
	}
	defer clear(params)
	spec := make([]byte, 0, align8(specSize+len(params)+1))
	return appendTargetSpec(spec, 0, t.Length, "crypt", params)
}

// removeCreated undoes a CreateCrypt that failed half way. A prober that
// opened the new device for a moment (udev's blkid, where there is udev)
// makes the remove fail with EBUSY, so it retries for a while and finally
// leaves a deferred remove behind, which completes when the prober closes.
func (c *Control) removeCreated(name string) error {
	deadline := time.Now().Add(2 * time.Second)
	for {
		err := c.Remove(name)
		if err == nil || errors.Is(err, ErrNotFound) {
			return nil
		}
		if !errors.Is(err, ErrBusy) {
			return err
		}
		if time.Now().After(deadline) {
			return c.RemoveDeferred(name)
		}
		time.Sleep(20 * time.Millisecond) // poll interval, bounded by the deadline
	}
}

// Remove removes device name now, and its node. It fails with ErrBusy
// while the device is open and with ErrNotFound when there is none.
func (c *Control) Remove(name string) error {
	return c.remove(name, false)
}

// RemoveDeferred removes device name now if it is not open, and otherwise
// marks it so the kernel removes it when its last user closes it (see
// Info.DeferredRemove). Without udev nothing learns of that later removal,
// so the node stays behind until CreateCrypt uses the name again or a
// Remove or RemoveDeferred of the name, which then fails with ErrNotFound,
// clears it away.
func (c *Control) RemoveDeferred(name string) error {
	return c.remove(name, true)
}

func (c *Control) remove(name string, deferred bool) error {
	if err := ValidName(name); err != nil {
		return fmt.Errorf("remove %q: %w", name, err)
	}
	info, err := c.Info(name)
	if err != nil {
		return fmt.Errorf("remove %q: %w", name, err)
	}
	if !info.Exists {
		if err := c.pruneNode(name); err != nil {
			return fmt.Errorf("remove %q: %w (and %w)", name, ErrNotFound, err)
		}
		return fmt.Errorf("remove %q: %w", name, ErrNotFound)
	}
	h := header{Name: name}
	if deferred {
		h.Flags |= flagDeferredRemove
	}
	var pending bool
	err = c.run(unix.DM_DEV_REMOVE, h, nil, func(r header, _ []byte) error {
		// The kernel clears the flag when it removed the device now and
		// leaves it set when it only marked it.
		pending = r.Flags&flagDeferredRemove != 0
		return nil
	})
	switch {
	case errors.Is(err, unix.ENXIO):
		return fmt.Errorf("remove %q: %w", name, ErrNotFound)
	case errors.Is(err, unix.EBUSY):
		return fmt.Errorf("remove %q: %w (open count %d)", name, ErrBusy, info.OpenCount)
	case err != nil:
		return fmt.Errorf("remove %q: %w", name, err)
	}
	if pending {
		return nil
	}
	if err := removeNode(c.dir, name, Dev{info.Major, info.Minor}); err != nil {
		return fmt.Errorf("remove %q: device removed, but: %w", name, err)
	}
	return nil
}

// CancelDeferredRemove withdraws a pending deferred remove of device name.
// It is not an error if none is pending.
func (c *Control) CancelDeferredRemove(name string) error {
	if err := ValidName(name); err != nil {
		return fmt.Errorf("cancel deferred remove of %q: %w", name, err)
	}
	msg := targetMessage(0, "@cancel_deferred_remove")
	err := c.run(unix.DM_TARGET_MSG, header{Name: name}, msg, nil)
	switch {
	case errors.Is(err, unix.ENXIO):
		return fmt.Errorf("cancel deferred remove of %q: %w", name, ErrNotFound)
	case errors.Is(err, unix.EBUSY):
		return fmt.Errorf("cancel deferred remove of %q: removal already under way: %w", name, ErrBusy)
	case err != nil:
		return fmt.Errorf("cancel deferred remove of %q: %w", name, err)
	}
	return nil
}
