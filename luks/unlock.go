package luks

import (
	"crypto/subtle"
	"errors"
	"fmt"
	"io"
	"slices"
	"sort"
)

// Priorities of LUKS2 keyslots.
const (
	PriorityIgnore = 0 // used only when asked for by number
	PriorityNormal = 1
	PriorityHigh   = 2
)

// AnySlot asks Unlock to try every eligible keyslot.
const AnySlot = -1

// PriorityValue returns the keyslot's priority, normal when absent.
func (k *Keyslot) PriorityValue() int {
	if k.Priority == nil {
		return PriorityNormal
	}
	return *k.Priority
}

// DigestOf returns the id of the digest a keyslot is assigned to, or -1.
func (m *Metadata) DigestOf(slot int) int {
	for _, id := range sortedIDs(m.Digests) {
		if slices.Contains(m.Digests[id].Keyslots, slot) {
			return id
		}
	}
	return -1
}

// volumeDigest returns the id of the digest of the volume key: the one
// assigned to segment 0 (or to any segment), or -1.
func (m *Metadata) volumeDigest() int {
	for _, id := range sortedIDs(m.Digests) {
		if slices.Contains(m.Digests[id].Segments, 0) {
			return id
		}
	}
	for _, id := range sortedIDs(m.Digests) {
		if len(m.Digests[id].Segments) > 0 {
			return id
		}
	}
	return -1
}

// SlotOrder returns the keyslots Unlock tries without an explicit slot:
// those holding the volume key, high priority first, then by number;
// slots with priority "ignore" are left out.
func (m *Metadata) SlotOrder() []int {
	vd := m.volumeDigest()
	var out []int
	for _, id := range sortedIDs(m.Keyslots) {
		k := m.Keyslots[id]
		if k.Type != "luks2" || k.PriorityValue() == PriorityIgnore || m.DigestOf(id) != vd {
			continue
		}
		out = append(out, id)
	}
	sort.SliceStable(out, func(i, j int) bool {
		return m.Keyslots[out[i]].PriorityValue() > m.Keyslots[out[j]].PriorityValue()
	})
	return out
}

// Unlock recovers the volume key with a passphrase (or key file contents).
// slot selects one keyslot, or AnySlot to try them by priority. It returns
// the key and the slot that opened; ErrWrongKey when none does.
func (h *Header) Unlock(r io.ReaderAt, pass []byte, slot int) ([]byte, int, error) {
	if h.V1 != nil {
		return h.unlockLUKS1(r, pass, slot)
	}
	m := h.Meta
	var order []int
	if slot == AnySlot {
		order = m.SlotOrder()
		if len(order) == 0 {
			return nil, -1, fmt.Errorf("%w: the header has no keyslot holding the volume key", ErrNoSlot)
		}
	} else {
		k := m.Keyslots[slot]
		if k == nil {
			return nil, -1, fmt.Errorf("%w: keyslot %d is not in use", ErrNoSlot, slot)
		}
		if k.Type != "luks2" {
			return nil, -1, fmt.Errorf("%w keyslot type %q in keyslot %d", ErrUnsupported, k.Type, slot)
		}
		order = []int{slot}
	}
	var errs []error
	for _, id := range order {
		key, err := h.openKeyslot(r, id, pass)
		if err == nil {
			return key, id, nil
		}
		if !errors.Is(err, ErrWrongKey) {
			errs = append(errs, fmt.Errorf("keyslot %d: %w", id, err))
		}
	}
	if len(errs) == len(order) {
		return nil, -1, errors.Join(errs...)
	}
	return nil, -1, ErrWrongKey
}

// openKeyslot decrypts one LUKS2 keyslot and checks the key against its digest.
func (h *Header) openKeyslot(r io.ReaderAt, id int, pass []byte) ([]byte, error) {
	m := h.Meta
	k := m.Keyslots[id]
	di := m.DigestOf(id)
	if di < 0 {
		return nil, fmt.Errorf("keyslot %d has no digest", id)
	}
	d := m.Digests[di]
	if d.Type != "pbkdf2" {
		return nil, fmt.Errorf("%w digest type %q", ErrUnsupported, d.Type)
	}
	dk, err := deriveKey(&k.KDF, pass, k.Area.KeySize)
	if err != nil {
		return nil, err
	}
	defer clear(dk)
	key, err := decryptKeyMaterial(r, k.Area.Encryption, dk, int64(k.Area.Offset), k.KeySize, k.AF.Stripes, k.AF.Hash)
	if err != nil {
		return nil, err
	}
	ok, err := checkDigest(d, key)
	if err != nil || !ok {
		clear(key)
		if err == nil {
			err = ErrWrongKey
		}
		return nil, err
	}
	return key, nil
}

// decryptKeyMaterial reads and decrypts AF-split key material and merges it.
func decryptKeyMaterial(r io.ReaderAt, spec string, dk []byte, off int64, keySize, stripes int, afHash string) ([]byte, error) {
	n := afSplitSectors(keySize, stripes) * 512
	buf := make([]byte, n)
	defer clear(buf)
	if _, err := r.ReadAt(buf, off); err != nil {
		return nil, fmt.Errorf("read key material at %d: %w", off, err)
	}
	c, err := newSectorCipher(spec, dk)
	if err != nil {
		return nil, err
	}
	c.crypt(buf, buf, 512, 0, false)
	return afMerge(buf, keySize, stripes, afHash)
}

func encryptKeyMaterial(w io.WriterAt, spec string, dk []byte, off int64, key []byte, stripes int, afHash string) error {
	buf, err := afSplit(key, stripes, afHash)
	if err != nil {
		return err
	}
	defer clear(buf)
	c, err := newSectorCipher(spec, dk)
	if err != nil {
		return err
	}
	c.crypt(buf, buf, 512, 0, true)
	if _, err := w.WriteAt(buf, off); err != nil {
		return fmt.Errorf("write key material at %d: %w", off, err)
	}
	return nil
}

func checkDigest(d *Digest, key []byte) (bool, error) {
	hf, err := hashFunc(d.Hash)
	if err != nil {
		return false, err
	}
	got := pbkdf2Key(key, d.Salt, d.Iterations, len(d.Digest), hf)
	return subtle.ConstantTimeCompare(got, d.Digest) == 1, nil
}

// VerifyVolumeKey reports whether key is the volume key of the header.
func (h *Header) VerifyVolumeKey(key []byte) (bool, error) {
	if h.V1 != nil {
		return h.V1.checkKey(key)
	}
	vd := h.Meta.volumeDigest()
	if vd < 0 {
		return false, errors.New("the header has no volume key digest")
	}
	return checkDigest(h.Meta.Digests[vd], key)
}

func (h *LUKS1Header) checkKey(key []byte) (bool, error) {
	if len(key) != int(h.KeyBytes) {
		return false, nil
	}
	hf, err := hashFunc(h.HashSpec)
	if err != nil {
		return false, err
	}
	got := pbkdf2Key(key, h.MKDigestSalt, int(h.MKDigestIter), luks1DigestSize, hf)
	return subtle.ConstantTimeCompare(got, h.MKDigest) == 1, nil
}

func (h *Header) unlockLUKS1(r io.ReaderAt, pass []byte, slot int) ([]byte, int, error) {
	v := h.V1
	var order []int
	for i, s := range v.Slots {
		if s.Active && (slot == AnySlot || slot == i) {
			order = append(order, i)
		}
	}
	if len(order) == 0 {
		if slot == AnySlot {
			return nil, -1, fmt.Errorf("%w: no active LUKS1 key slot", ErrNoSlot)
		}
		return nil, -1, fmt.Errorf("%w: key slot %d is not active", ErrNoSlot, slot)
	}
	hf, err := hashFunc(v.HashSpec)
	if err != nil {
		return nil, -1, err
	}
	var errs []error
	for _, i := range order {
		s := v.Slots[i]
		dk := pbkdf2Key(pass, s.Salt, int(s.Iterations), int(v.KeyBytes), hf)
		key, err := decryptKeyMaterial(r, v.Cipher(), dk, int64(s.KeyMaterialOff)*512, int(v.KeyBytes), int(s.Stripes), v.HashSpec)
		clear(dk)
		if err != nil {
			errs = append(errs, fmt.Errorf("key slot %d: %w", i, err))
			continue
		}
		if ok, err := v.checkKey(key); err != nil {
			return nil, -1, err
		} else if ok {
			return key, i, nil
		}
		clear(key)
	}
	if len(errs) == len(order) {
		return nil, -1, errors.Join(errs...)
	}
	return nil, -1, ErrWrongKey
}

// Cipher returns the data cipher in dm-crypt notation.
func (h *Header) Cipher() string {
	if h.V1 != nil {
		return h.V1.Cipher()
	}
	if s := h.Meta.Segments[0]; s != nil {
		return s.Encryption
	}
	return ""
}

// VolumeKeySize returns the size of the volume key in bytes.
func (h *Header) VolumeKeySize() int {
	if h.V1 != nil {
		return int(h.V1.KeyBytes)
	}
	vd := h.Meta.volumeDigest()
	for _, id := range sortedIDs(h.Meta.Keyslots) {
		if h.Meta.DigestOf(id) == vd {
			return h.Meta.Keyslots[id].KeySize
		}
	}
	return 0
}
