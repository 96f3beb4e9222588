package luks

import (
	"bytes"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"io"
	"slices"
	"strings"
)

// Binary header layout (luks2-on-disk-format, figure 2).
const (
	binHeaderSize = 4096
	magicLen      = 6
	labelLen      = 48
	csumAlgLen    = 32
	saltLen       = 64
	uuidLen       = 40
	csumLen       = 64

	offVersion   = 6
	offHdrSize   = 8
	offSeqID     = 16
	offLabel     = 24
	offCsumAlg   = 72
	offSalt      = 104
	offUUID      = 168
	offSubsystem = 208
	offHdrOffset = 256
	offPadding   = 264
	offCsum      = 448
	offPad4096   = 512
)

var (
	magic1st = []byte("LUKS\xba\xbe")
	magic2nd = []byte("SKUL\xba\xbe")
	hdrSizes = []uint64{16384, 32768, 65536, 131072, 262144, 524288, 1048576, 2097152, 4194304}
	csumAlgs = []string{"sha256", "sha1", "sha512"}
)

// ValidMetadataSizes lists the allowed sizes of one LUKS2 header copy
// (binary header plus JSON area), in bytes.
func ValidMetadataSizes() []uint64 { return slices.Clone(hdrSizes) }

// Header is a LUKS header read from a device: a LUKS2 header (V1 nil) or a
// LUKS1 header (Meta nil).
type Header struct {
	Version   int // 1 or 2
	UUID      string
	Label     string // LUKS2 only
	Subsystem string // LUKS2 only
	SeqID     uint64 // LUKS2 only; cryptsetup calls it "epoch"
	HdrSize   uint64 // LUKS2: size of one copy: binary header and JSON area
	CsumAlg   string // LUKS2 only
	Meta      *Metadata
	V1        *LUKS1Header

	salts [2][]byte // per copy, kept across rewrites

	// Set by Read: why each LUKS2 copy was not used, nil when it was good
	// and current. A copy that is intact but older than the other is
	// reported with ErrStaleCopy.
	PrimaryErr, SecondaryErr error
}

// ErrStaleCopy marks an intact header copy with a lower seqid than the other.
var ErrStaleCopy = errors.New("copy is older than the other (lower seqid)")

// NeedsRepair reports whether one LUKS2 header copy is damaged or stale.
func (h *Header) NeedsRepair() bool { return h.PrimaryErr != nil || h.SecondaryErr != nil }

// copyOffset returns the byte offset of header copy i (0 primary, 1 secondary).
func (h *Header) copyOffset(i int) int64 { return int64(i) * int64(h.HdrSize) }

// AreaEnd returns the end of the LUKS2 metadata and keyslots area, in bytes.
func (h *Header) AreaEnd() uint64 {
	if h.V1 != nil {
		return h.V1.areaEnd()
	}
	return 2*h.HdrSize + h.Meta.Config.KeyslotsSize
}

type diskHeader struct {
	magic     []byte
	version   uint16
	hdrSize   uint64
	seqID     uint64
	label     string
	csumAlg   string
	salt      []byte
	uuid      string
	subsystem string
	hdrOffset uint64
	csum      []byte
}

// cString returns the NUL-terminated string in b or an error naming field.
func cString(b []byte, field string) (string, error) {
	i := bytes.IndexByte(b, 0)
	if i < 0 {
		return "", fieldErr("binary header "+field, "not NUL-terminated")
	}
	if !isZero(b[i:]) {
		return "", fieldErr("binary header "+field, "bytes after the terminating NUL are not zero")
	}
	return string(b[:i]), nil
}

func decodeBinHeader(b []byte) (*diskHeader, error) {
	d := &diskHeader{
		magic:     b[:magicLen],
		version:   binary.BigEndian.Uint16(b[offVersion:]),
		hdrSize:   binary.BigEndian.Uint64(b[offHdrSize:]),
		seqID:     binary.BigEndian.Uint64(b[offSeqID:]),
		salt:      b[offSalt : offSalt+saltLen],
		hdrOffset: binary.BigEndian.Uint64(b[offHdrOffset:]),
		csum:      b[offCsum : offCsum+csumLen],
	}
	var err error
	for _, s := range []struct {
		dst   *string
		off   int
		n     int
		field string
	}{
		{&d.label, offLabel, labelLen, "label"},
		{&d.csumAlg, offCsumAlg, csumAlgLen, "csum_alg"},
		{&d.uuid, offUUID, uuidLen, "uuid"},
		{&d.subsystem, offSubsystem, labelLen, "subsystem"},
	} {
		if *s.dst, err = cString(b[s.off:s.off+s.n], s.field); err != nil {
			return nil, err
		}
	}
	return d, nil
}

func encodeBinHeader(d *diskHeader) []byte {
	b := make([]byte, binHeaderSize)
	copy(b, d.magic)
	binary.BigEndian.PutUint16(b[offVersion:], d.version)
	binary.BigEndian.PutUint64(b[offHdrSize:], d.hdrSize)
	binary.BigEndian.PutUint64(b[offSeqID:], d.seqID)
	copy(b[offLabel:offLabel+labelLen-1], d.label)
	copy(b[offCsumAlg:offCsumAlg+csumAlgLen-1], d.csumAlg)
	copy(b[offSalt:offSalt+saltLen], d.salt)
	copy(b[offUUID:offUUID+uuidLen-1], d.uuid)
	copy(b[offSubsystem:offSubsystem+labelLen-1], d.subsystem)
	binary.BigEndian.PutUint64(b[offHdrOffset:], d.hdrOffset)
	copy(b[offCsum:offCsum+csumLen], d.csum)
	return b
}

func csumHash(alg string) (hash.Hash, error) {
	if !slices.Contains(csumAlgs, alg) {
		return nil, fieldErr("binary header csum_alg", "%q is not a supported checksum algorithm", alg)
	}
	return newHash(alg)
}

// headerChecksum computes the checksum of one copy: binary header with the
// csum field zeroed, followed by the JSON area.
func headerChecksum(alg string, area []byte) ([]byte, error) {
	h, err := csumHash(alg)
	if err != nil {
		return nil, err
	}
	h.Write(area[:offCsum])
	h.Write(make([]byte, csumLen))
	h.Write(area[offCsum+csumLen:])
	return h.Sum(nil), nil
}

// readCopy reads and checks the LUKS2 header copy at off.
func readCopy(r io.ReaderAt, off int64, secondary bool) (*Header, error) {
	bin := make([]byte, binHeaderSize)
	if _, err := r.ReadAt(bin, off); err != nil {
		return nil, fmt.Errorf("read binary header: %w", err)
	}
	want := magic1st
	if secondary {
		want = magic2nd
	}
	if !bytes.Equal(bin[:magicLen], want) {
		return nil, fieldErr("binary header magic", "% x, want % x", bin[:magicLen], want)
	}
	d, err := decodeBinHeader(bin)
	if err != nil {
		return nil, err
	}
	if d.version != 2 {
		return nil, fieldErr("binary header version", "%d, want 2", d.version)
	}
	if !slices.Contains(hdrSizes, d.hdrSize) {
		return nil, fieldErr("binary header hdr_size", "%d is not a valid LUKS2 metadata size", d.hdrSize)
	}
	if d.hdrOffset != uint64(off) {
		return nil, fieldErr("binary header hdr_offset", "%d, but the copy is at offset %d", d.hdrOffset, off)
	}
	if secondary && d.hdrOffset != d.hdrSize {
		return nil, fieldErr("binary header hdr_offset", "%d, but the secondary copy must follow a %d-byte primary", d.hdrOffset, d.hdrSize)
	}
	if !isZero(bin[offPadding:offCsum]) || !isZero(bin[offPad4096:]) {
		return nil, fieldErr("binary header padding", "not zeroed")
	}
	area := make([]byte, d.hdrSize)
	copy(area, bin)
	if _, err := r.ReadAt(area[binHeaderSize:], off+binHeaderSize); err != nil {
		return nil, fmt.Errorf("read JSON area: %w", err)
	}
	sum, err := headerChecksum(d.csumAlg, area)
	if err != nil {
		return nil, err
	}
	if !bytes.Equal(sum, d.csum[:len(sum)]) || !isZero(d.csum[len(sum):]) {
		return nil, fmt.Errorf("%w (%s over %d bytes)", ErrChecksum, d.csumAlg, d.hdrSize)
	}
	jsonArea := area[binHeaderSize:]
	n := bytes.IndexByte(jsonArea, 0)
	if n < 0 {
		return nil, fieldErr("JSON area", "not NUL-terminated")
	}
	meta, err := parseMetadata(jsonArea[:n], d.hdrSize)
	if err != nil {
		return nil, err
	}
	h := &Header{
		Version:   2,
		UUID:      d.uuid,
		Label:     d.label,
		Subsystem: d.subsystem,
		SeqID:     d.seqID,
		HdrSize:   d.hdrSize,
		CsumAlg:   d.csumAlg,
		Meta:      meta,
	}
	idx := 0
	if secondary {
		idx = 1
	}
	h.salts[idx] = slices.Clone(d.salt)
	return h, nil
}

func isZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

// ReadHeader reads the LUKS header at the start of r: LUKS1, or LUKS2 from
// whichever copy is intact and newest. When a LUKS2 copy is damaged or stale
// the header says so in PrimaryErr/SecondaryErr; Repair rewrites it.
func ReadHeader(r io.ReaderAt) (*Header, error) {
	first := make([]byte, binHeaderSize)
	n, err := r.ReadAt(first, 0)
	if err != nil && !(err == io.EOF && n >= 8) {
		if n < 8 {
			return nil, fmt.Errorf("%w: device too small to hold a header", ErrNotLUKS)
		}
		return nil, fmt.Errorf("read header: %w", err)
	}
	if bytes.Equal(first[:magicLen], magic1st) && binary.BigEndian.Uint16(first[offVersion:]) == 1 {
		return readLUKS1(r)
	}
	var primary *Header
	var perr error
	primaryMagic := bytes.Equal(first[:magicLen], magic1st)
	if primaryMagic {
		primary, perr = readCopy(r, 0, false)
	} else {
		perr = fieldErr("binary header magic", "no LUKS signature")
	}
	secondary, foundMagic, serr := findSecondary(r, first, primaryMagic, primary)
	if perr != nil {
		perr = &HeaderError{Copy: "primary", Offset: 0, Err: perr}
	}
	switch {
	case primary == nil && secondary == nil:
		if !primaryMagic && !foundMagic {
			return nil, ErrNotLUKS
		}
		return nil, &NoHeaderError{Primary: perr, Secondary: serr}
	case secondary == nil:
		primary.SecondaryErr = serr
		primary.salts[1] = newSalt()
		return primary, nil
	case primary == nil:
		secondary.PrimaryErr = perr
		secondary.salts[0] = newSalt()
		return secondary, nil
	}
	// Both intact: use the newer; equal seqids mean the primary.
	if secondary.SeqID > primary.SeqID {
		secondary.PrimaryErr = &HeaderError{Copy: "primary", Offset: 0, Err: ErrStaleCopy}
		secondary.salts[0] = primary.salts[0]
		return secondary, nil
	}
	if secondary.SeqID < primary.SeqID || secondary.HdrSize != primary.HdrSize {
		primary.SecondaryErr = &HeaderError{Copy: "secondary", Offset: int64(primary.HdrSize), Err: ErrStaleCopy}
	}
	primary.salts[1] = secondary.salts[1]
	return primary, nil
}

// findSecondary reads the secondary copy. It follows the primary; when the
// primary's size is unreadable, the offsets the specification allows are
// scanned. foundMagic tells whether any secondary signature was seen.
func findSecondary(r io.ReaderAt, first []byte, primaryMagic bool, primary *Header) (*Header, bool, error) {
	offsets := slices.Clone(hdrSizes)
	if hs := binary.BigEndian.Uint64(first[offHdrSize:]); primaryMagic && slices.Contains(hdrSizes, hs) {
		offsets = append([]uint64{hs}, slices.DeleteFunc(offsets, func(o uint64) bool { return o == hs })...)
	}
	if primary != nil {
		offsets = []uint64{primary.HdrSize}
	}
	var firstErr error
	for _, off := range offsets {
		var m [magicLen]byte
		if _, err := r.ReadAt(m[:], int64(off)); err != nil || !bytes.Equal(m[:], magic2nd) {
			continue
		}
		h, err := readCopy(r, int64(off), true)
		if err == nil {
			return h, true, nil
		}
		if firstErr == nil {
			firstErr = &HeaderError{Copy: "secondary", Offset: int64(off), Err: err}
		}
	}
	if firstErr != nil {
		return nil, true, firstErr
	}
	off := int64(0)
	if primary != nil {
		off = int64(primary.HdrSize)
	}
	return nil, false, &HeaderError{Copy: "secondary", Offset: off, Err: errors.New("no LUKS2 secondary header signature found")}
}

func newSalt() []byte {
	s := make([]byte, saltLen)
	if _, err := rand.Read(s); err != nil {
		panic(err)
	}
	return s
}

// encodeCopies returns both header copies (primary first), each hdr_size
// bytes, for the header's current metadata and seqid.
func (h *Header) encodeCopies() ([2][]byte, error) {
	return h.encodeCopiesText(h.Meta.marshal())
}

// encodeCopiesText encodes both copies around the given JSON text.
func (h *Header) encodeCopiesText(text []byte) ([2][]byte, error) {
	var out [2][]byte
	jsonSize := h.HdrSize - binHeaderSize
	if uint64(len(text)) >= jsonSize {
		return out, fmt.Errorf("LUKS2 JSON metadata needs %d bytes, more than the %d-byte JSON area", len(text)+1, jsonSize)
	}
	if len(h.Label) >= labelLen || len(h.Subsystem) >= labelLen {
		return out, fmt.Errorf("label and subsystem must be shorter than %d bytes", labelLen)
	}
	if strings.ContainsRune(h.Label, 0) || strings.ContainsRune(h.Subsystem, 0) {
		return out, errors.New("label and subsystem must not contain NUL")
	}
	for i := range 2 {
		if len(h.salts[i]) != saltLen {
			h.salts[i] = newSalt()
		}
		d := &diskHeader{
			magic:     magic1st,
			version:   2,
			hdrSize:   h.HdrSize,
			seqID:     h.SeqID,
			label:     h.Label,
			csumAlg:   h.CsumAlg,
			salt:      h.salts[i],
			uuid:      h.UUID,
			subsystem: h.Subsystem,
			hdrOffset: uint64(i) * h.HdrSize,
		}
		if i == 1 {
			d.magic = magic2nd
		}
		area := make([]byte, h.HdrSize)
		copy(area, encodeBinHeader(d))
		copy(area[binHeaderSize:], text)
		sum, err := headerChecksum(h.CsumAlg, area)
		if err != nil {
			return out, err
		}
		copy(area[offCsum:], sum)
		out[i] = area
	}
	return out, nil
}

// writeHeader increments the seqid and writes both LUKS2 copies: the JSON
// area first and the binary header sector last, primary before secondary.
func (h *Header) write(w io.WriterAt) error {
	if h.V1 != nil {
		return ErrLUKS1ReadOnly
	}
	if err := h.Meta.validate(h.HdrSize); err != nil {
		return fmt.Errorf("refusing to write invalid metadata: %w", err)
	}
	h.SeqID++
	copies, err := h.encodeCopies()
	if err != nil {
		h.SeqID--
		return err
	}
	for i, c := range copies {
		off := h.copyOffset(i)
		if _, err := w.WriteAt(c[binHeaderSize:], off+binHeaderSize); err != nil {
			return fmt.Errorf("write JSON area of header copy %d: %w", i, err)
		}
		if _, err := w.WriteAt(c[:binHeaderSize], off); err != nil {
			return fmt.Errorf("write binary header copy %d: %w", i, err)
		}
		if s, ok := w.(interface{ Sync() error }); ok {
			if err := s.Sync(); err != nil {
				return fmt.Errorf("sync header copy %d: %w", i, err)
			}
		}
	}
	h.PrimaryErr, h.SecondaryErr = nil, nil
	return nil
}

// Repair rewrites a damaged or stale LUKS2 header copy from the good one,
// with fresh salts for the rewritten copies, as cryptsetup's recovery does.
// It is a no-op when both copies are good.
func (h *Header) Repair(w io.WriterAt) error {
	if c, err := h.PlanRepair(); err != nil || len(c.Writes) == 0 {
		return err
	}
	if h.PrimaryErr != nil {
		h.salts[0] = newSalt()
	}
	if h.SecondaryErr != nil {
		h.salts[1] = newSalt()
	}
	return h.write(w)
}
