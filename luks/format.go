package luks

import (
	"crypto/rand"
	"fmt"
	"io"
	"strings"
)

// Defaults of cryptsetup 2.6 luksFormat for LUKS2.
const (
	DefaultCipher       = "aes-xts-plain64"
	DefaultKeyBits      = 512
	DefaultMetadataSize = 16 << 10
	DefaultDataOffset   = 16 << 20
	DefaultStripes      = 4000
	DefaultAFHash       = "sha256"
	DefaultDigestHash   = "sha256"
)

// FormatOptions describes a new LUKS2 volume. Zero fields take cryptsetup's
// defaults.
type FormatOptions struct {
	Cipher       string // data cipher, default aes-xts-plain64
	KeyBits      int    // volume key size, default 512
	SectorSize   int    // 512..4096; 0 chooses like cryptsetup (see Geometry)
	Label        string
	Subsystem    string
	UUID         string // default: random
	MetadataSize uint64 // one header copy, default 16 KiB
	KeyslotsSize uint64 // default: DataOffset minus both header copies
	DataOffset   uint64 // bytes, default 16 MiB

	// Device is the geometry of the target; it drives the automatic sector
	// size and the size checks.
	Device Geometry

	PBKDF PBKDF // first keyslot
	// DigestIterations sets the volume key digest's pbkdf2 iterations;
	// 0 benchmarks for 125 ms as cryptsetup does.
	DigestIterations int
	// VolumeKey, when set, is used instead of a random key.
	VolumeKey []byte
}

// Geometry is what Format needs to know about the target device.
type Geometry struct {
	Size               uint64 // bytes; 0 when unknown
	LogicalSectorSize  int    // 0 when unknown
	PhysicalSectorSize int    // 0 when unknown
}

// OptimalSectorSize is cryptsetup's choice of encryption sector size for a
// device: 4096 where the device's blocks are 4096 bytes (a file on a usual
// filesystem, or a disk with 4096-byte physical sectors), 512 otherwise.
func (g Geometry) OptimalSectorSize() int {
	l, p := g.LogicalSectorSize, g.PhysicalSectorSize
	if l <= 0 {
		return 512
	}
	if l >= 4096 {
		if l%4096 != 0 {
			return 512
		}
		return 4096
	}
	if l >= p || p <= 512 || p > 4096 || p%l != 0 {
		return l
	}
	return p
}

// validUUID reports whether s is a UUID written as 8-4-4-4-12 hex digits.
func validUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
				return false
			}
		}
	}
	return true
}

// NewUUID returns a random (version 4) UUID in lowercase.
func NewUUID() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err)
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

func (o *FormatOptions) resolve() error {
	if o.Cipher == "" {
		o.Cipher = DefaultCipher
	}
	if o.KeyBits == 0 {
		o.KeyBits = DefaultKeyBits
	}
	if o.KeyBits%8 != 0 || o.KeyBits <= 0 || o.KeyBits > maxKeySize*8 {
		return fmt.Errorf("key size %d bits is not a whole number of bytes", o.KeyBits)
	}
	if o.VolumeKey != nil && len(o.VolumeKey)*8 != o.KeyBits {
		return fmt.Errorf("volume key is %d bits, want %d", len(o.VolumeKey)*8, o.KeyBits)
	}
	if o.UUID == "" {
		o.UUID = NewUUID()
	} else if !validUUID(o.UUID) {
		return fmt.Errorf("UUID %q is not in the form xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx", o.UUID)
	}
	o.UUID = strings.ToLower(o.UUID)
	if len(o.Label) >= labelLen || len(o.Subsystem) >= labelLen {
		return fmt.Errorf("label and subsystem must be at most %d bytes", labelLen-1)
	}
	if o.MetadataSize == 0 {
		o.MetadataSize = DefaultMetadataSize
	}
	if !containsU64(hdrSizes, o.MetadataSize) {
		return fmt.Errorf("metadata size %d is not one of %v", o.MetadataSize, hdrSizes)
	}
	if o.DataOffset == 0 {
		o.DataOffset = DefaultDataOffset
	}
	if o.DataOffset%4096 != 0 {
		return fmt.Errorf("data offset %d is not a multiple of 4096", o.DataOffset)
	}
	if o.KeyslotsSize == 0 {
		if o.DataOffset <= 2*o.MetadataSize {
			return fmt.Errorf("data offset %d leaves no room for the keyslots area", o.DataOffset)
		}
		o.KeyslotsSize = min(o.DataOffset-2*o.MetadataSize, maxKeyslotsSize)
	}
	if o.KeyslotsSize%4096 != 0 || 2*o.MetadataSize+o.KeyslotsSize > o.DataOffset {
		return fmt.Errorf("keyslots area of %d bytes does not fit before the data offset %d", o.KeyslotsSize, o.DataOffset)
	}
	if need := afSplitAreaSize(o.KeyBits/8, DefaultStripes); o.KeyslotsSize < need {
		return fmt.Errorf("keyslots area of %d bytes cannot hold one keyslot (%d bytes)", o.KeyslotsSize, need)
	}
	dev := o.Device
	if dev.Size != 0 && dev.Size <= o.DataOffset {
		return fmt.Errorf("device of %d bytes is too small for data at offset %d", dev.Size, o.DataOffset)
	}
	switch o.SectorSize {
	case 0:
		o.SectorSize = dev.OptimalSectorSize()
		if dev.Size != 0 && (dev.Size-o.DataOffset)%uint64(o.SectorSize) != 0 {
			o.SectorSize = 512
		}
	case 512, 1024, 2048, 4096:
		if dev.Size != 0 && (dev.Size-o.DataOffset)%uint64(o.SectorSize) != 0 {
			return fmt.Errorf("data area of %d bytes is not a multiple of the sector size %d", dev.Size-o.DataOffset, o.SectorSize)
		}
		if dev.LogicalSectorSize > o.SectorSize {
			return fmt.Errorf("sector size %d is smaller than the device's logical sector size %d", o.SectorSize, dev.LogicalSectorSize)
		}
	default:
		return fmt.Errorf("sector size %d is not 512, 1024, 2048 or 4096", o.SectorSize)
	}
	if _, err := newSectorCipher(o.Cipher, make([]byte, o.KeyBits/8)); err != nil {
		return err
	}
	return nil
}

func containsU64(s []uint64, v uint64) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// ReadWriterAt is a device or image that headers are read from and written to.
type ReadWriterAt interface {
	io.ReaderAt
	io.WriterAt
}

// Format writes a new LUKS2 header to dev with one keyslot (0) opened by
// pass, zeroing the header and keyslots area first. It returns the header
// and the volume key; the caller should clear the key when done.
func Format(dev ReadWriterAt, opts FormatOptions, pass []byte) (*Header, []byte, error) {
	if err := opts.resolve(); err != nil {
		return nil, nil, err
	}
	keyLen := opts.KeyBits / 8
	vk := make([]byte, keyLen)
	if opts.VolumeKey != nil {
		copy(vk, opts.VolumeKey)
	} else if _, err := rand.Read(vk); err != nil {
		return nil, nil, err
	}
	fail := func(err error) (*Header, []byte, error) {
		clear(vk)
		return nil, nil, err
	}
	digest, err := newDigest(vk, opts.DigestIterations)
	if err != nil {
		return fail(err)
	}
	h := &Header{
		Version:   2,
		UUID:      opts.UUID,
		Label:     opts.Label,
		Subsystem: opts.Subsystem,
		HdrSize:   opts.MetadataSize,
		CsumAlg:   "sha256",
		Meta: &Metadata{
			Keyslots: map[int]*Keyslot{},
			Tokens:   map[int]*Token{},
			Segments: map[int]*Segment{0: {
				Type: "crypt", Offset: opts.DataOffset, Dynamic: true,
				Encryption: opts.Cipher, SectorSize: opts.SectorSize,
			}},
			Digests: map[int]*Digest{0: digest},
			Config:  Config{JSONSize: opts.MetadataSize - binHeaderSize, KeyslotsSize: opts.KeyslotsSize},
		},
	}
	if err := zeroRange(dev, 0, h.AreaEnd()); err != nil {
		return fail(fmt.Errorf("wipe header area: %w", err))
	}
	if _, err := h.AddKeyslot(dev, vk, pass, KeyslotOptions{Slot: 0, PBKDF: opts.PBKDF}); err != nil {
		return fail(err)
	}
	return h, vk, nil
}

// newDigest makes the pbkdf2-sha256 digest of a volume key.
func newDigest(vk []byte, iterations int) (*Digest, error) {
	d := &Digest{Type: "pbkdf2", Keyslots: []int{}, Segments: []int{0}, Hash: DefaultDigestHash, Salt: make([]byte, 32)}
	if _, err := rand.Read(d.Salt); err != nil {
		return nil, err
	}
	if iterations == 0 {
		iterations = benchPBKDF2(DefaultDigestHash, len(vk), digestIterTime, nil)
	}
	d.Iterations = max(iterations, minPBKDF2Iterations)
	hf, _ := hashFunc(d.Hash)
	d.Digest = pbkdf2Key(vk, d.Salt, d.Iterations, 32, hf)
	return d, nil
}

func zeroRange(w io.WriterAt, off, end uint64) error {
	buf := make([]byte, 1<<20)
	for off < end {
		n := min(uint64(len(buf)), end-off)
		if _, err := w.WriteAt(buf[:n], int64(off)); err != nil {
			return err
		}
		off += n
	}
	return nil
}
