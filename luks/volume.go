package luks

import (
	"errors"
	"fmt"
)

// Volume is a LUKS device opened for use: the device with cryptsetup's
// metadata lock held, and its header.
type Volume struct {
	Dev    *Device
	Header *Header
}

// OpenVolume opens the block device or image file at path (for writing
// when write), takes the metadata lock (exclusive when write) and reads the
// header. Close releases the lock and the device.
func OpenVolume(path string, write bool) (*Volume, error) {
	d, err := OpenDevice(path, write)
	if err != nil {
		return nil, err
	}
	if err := d.Lock(write); err != nil {
		d.Close()
		return nil, err
	}
	h, err := ReadHeader(d)
	if err != nil {
		d.Close()
		return nil, fmt.Errorf("read header of %s: %w", path, err)
	}
	return &Volume{Dev: d, Header: h}, nil
}

// Close releases the metadata lock and closes the device.
func (v *Volume) Close() error { return v.Dev.Close() }

// UnlockAsking recovers the volume key with passphrases from ask, trying
// keyslot slot (AnySlot: every one), at most tries passphrases (0: no
// limit). ask gets the attempt, counted from 1, and why the previous one
// failed (nil at first); the passphrase it returns is cleared after use. It
// stops at ask's first error and at any error but ErrWrongKey; when every
// try was wrong the error wraps ErrWrongKey. It returns the volume key,
// which the caller clears, and the keyslot that opened.
func (v *Volume) UnlockAsking(slot, tries int, ask func(attempt int, last error) ([]byte, error)) ([]byte, int, error) {
	var last error
	for attempt := 1; tries == 0 || attempt <= tries; attempt++ {
		pass, err := ask(attempt, last)
		if err != nil {
			return nil, -1, err
		}
		vk, s, err := v.Header.Unlock(v.Dev, pass, slot)
		clear(pass)
		if err == nil {
			return vk, s, nil
		}
		if !errors.Is(err, ErrWrongKey) {
			return nil, -1, err
		}
		last = err
	}
	return nil, -1, fmt.Errorf("%d tries: %w", tries, last)
}
