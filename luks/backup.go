package luks

import (
	"bytes"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"strings"
)

// BackupSize is the number of bytes a header backup holds: for LUKS2 both
// header copies and the keyslots area, for LUKS1 everything before the
// payload. It is the size cryptsetup's luksHeaderBackup writes.
func (h *Header) BackupSize() uint64 {
	if h.V1 != nil {
		if h.V1.PayloadOffset != 0 {
			return uint64(h.V1.PayloadOffset) * 512
		}
		return (h.V1.areaEnd() + 4095) &^ 4095
	}
	return h.AreaEnd()
}

// Backup copies the header area of dev to w.
func (h *Header) Backup(dev io.ReaderAt, w io.Writer) error {
	if h.NeedsRepair() {
		return errors.New("a header copy is damaged or stale: repair the header before backing it up")
	}
	_, err := io.Copy(w, io.NewSectionReader(dev, 0, int64(h.BackupSize())))
	return err
}

// ReadBackup reads and checks a header backup file; both LUKS2 copies must
// be intact.
func ReadBackup(backup []byte) (*Header, error) {
	h, err := ReadHeader(bytes.NewReader(backup))
	if err != nil {
		return nil, fmt.Errorf("header backup: %w", err)
	}
	if h.NeedsRepair() {
		return nil, fmt.Errorf("header backup is damaged: %v %v", h.PrimaryErr, h.SecondaryErr)
	}
	if uint64(len(backup)) < h.BackupSize() {
		return nil, fmt.Errorf("header backup is %d bytes, the header needs %d", len(backup), h.BackupSize())
	}
	return h, nil
}

// Restore writes a header backup (checked with ReadBackup) to the start of
// a device of devSize bytes.
func Restore(dev io.WriterAt, backup []byte, devSize uint64) error {
	c, err := PlanRestore(backup, devSize)
	if err != nil {
		return err
	}
	if _, err := dev.WriteAt(backup[:c.Writes[0].Size], 0); err != nil {
		return fmt.Errorf("write header: %w", err)
	}
	if s, ok := dev.(interface{ Sync() error }); ok {
		return s.Sync()
	}
	return nil
}

// modhex is the alphabet of recovery keys: no letters that look alike or
// move between keyboard layouts (as systemd-cryptenroll uses).
const modhex = "cbdefghijklnrtuv"

// NewRecoveryKey returns a random 256-bit recovery key written as 64 modhex
// characters in eight dash-separated groups; the whole string, dashes
// included, is the passphrase.
func NewRecoveryKey() (string, error) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	var s strings.Builder
	for i, c := range b {
		if i > 0 && i%4 == 0 {
			s.WriteByte('-')
		}
		s.WriteByte(modhex[c>>4])
		s.WriteByte(modhex[c&15])
	}
	clear(b[:])
	return s.String(), nil
}
