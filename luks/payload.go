package luks

import (
	"errors"
	"fmt"
	"io"
	"sync"
)

// Payload is the decrypted data segment of an unlocked volume, read and
// written through userspace AES in dm-crypt's layout: sectors of
// SectorSize bytes, IV = iv_tweak + byte offset / 512 (plain64). ReadAt and
// WriteAt are safe for concurrent use on non-overlapping ranges when the
// underlying device's are.
type Payload struct {
	dev        ReadWriterAt
	c          *sectorCipher
	offset     uint64 // of the segment on the device, bytes
	size       uint64 // bytes
	sectorSize int
	ivTweak    uint64
	pool       sync.Pool
}

const payloadChunk = 1 << 20

// Payload returns the decrypted view of segment 0 (LUKS2) or the payload
// (LUKS1). devSize is the size of the device in bytes, which bounds a
// "dynamic" segment.
func (h *Header) Payload(dev ReadWriterAt, vk []byte, devSize uint64) (*Payload, error) {
	if ok, err := h.VerifyVolumeKey(vk); err != nil {
		return nil, err
	} else if !ok {
		return nil, errors.New("the key does not match the volume key digest")
	}
	p := &Payload{dev: dev}
	var spec string
	if h.V1 != nil {
		p.offset, p.sectorSize, spec = uint64(h.V1.PayloadOffset)*512, 512, h.V1.Cipher()
		p.size = devSize - min(devSize, p.offset)
	} else {
		if err := h.CanActivate(); err != nil {
			return nil, err
		}
		s := h.Meta.Segments[0]
		if s == nil || s.Type != "crypt" || len(h.Meta.Segments) != 1 {
			return nil, fmt.Errorf("%w: the volume does not have exactly one crypt segment", ErrUnsupported)
		}
		if len(s.Integrity) > 0 {
			return nil, fmt.Errorf("%w: segment with integrity protection", ErrUnsupported)
		}
		p.offset, p.sectorSize, p.ivTweak, spec = s.Offset, s.SectorSize, s.IVTweak, s.Encryption
		if s.Dynamic {
			p.size = devSize - min(devSize, p.offset)
		} else {
			p.size = s.Size
		}
	}
	p.size -= p.size % uint64(p.sectorSize)
	c, err := newSectorCipher(spec, vk)
	if err != nil {
		return nil, err
	}
	p.c = c
	p.pool.New = func() any { b := make([]byte, payloadChunk); return &b }
	return p, nil
}

// Size returns the payload size in bytes.
func (p *Payload) Size() int64 { return int64(p.size) }

// SectorSize returns the encryption sector size in bytes.
func (p *Payload) SectorSize() int { return p.sectorSize }

// ReadAt reads decrypted bytes at payload offset off.
func (p *Payload) ReadAt(b []byte, off int64) (int, error) {
	if off < 0 {
		return 0, errors.New("negative offset")
	}
	var err error
	if uint64(off) >= p.size {
		return 0, io.EOF
	}
	if rem := p.size - uint64(off); uint64(len(b)) > rem {
		b, err = b[:rem], io.EOF
	}
	bufp := p.pool.Get().(*[]byte)
	defer p.pool.Put(bufp)
	buf := *bufp
	ss := uint64(p.sectorSize)
	n := 0
	for n < len(b) {
		pos := uint64(off) + uint64(n)
		start := pos - pos%ss
		end := min(start+uint64(len(buf)), (pos+uint64(len(b)-n)+ss-1)/ss*ss)
		chunk := buf[:end-start]
		if err := p.readSectors(chunk, start); err != nil {
			return n, err
		}
		n += copy(b[n:], chunk[pos-start:])
	}
	return n, err
}

// readSectors reads and decrypts whole sectors at payload offset start.
func (p *Payload) readSectors(buf []byte, start uint64) error {
	if _, err := p.dev.ReadAt(buf, int64(p.offset+start)); err != nil {
		return fmt.Errorf("read payload at %d: %w", start, err)
	}
	p.c.crypt(buf, buf, p.sectorSize, p.ivTweak+start/512, false)
	return nil
}

// WriteAt encrypts b and writes it at payload offset off; partial sectors
// are read, merged and rewritten.
func (p *Payload) WriteAt(b []byte, off int64) (int, error) {
	if off < 0 || uint64(off)+uint64(len(b)) > p.size {
		return 0, fmt.Errorf("write of %d bytes at %d beyond the payload size %d", len(b), off, p.size)
	}
	bufp := p.pool.Get().(*[]byte)
	defer p.pool.Put(bufp)
	buf := *bufp
	ss := uint64(p.sectorSize)
	n := 0
	for n < len(b) {
		pos := uint64(off) + uint64(n)
		start := pos - pos%ss
		end := min(start+uint64(len(buf)), (pos+uint64(len(b)-n)+ss-1)/ss*ss)
		chunk := buf[:end-start]
		head := pos - start
		tail := min(uint64(len(b)-n), uint64(len(chunk))-head)
		if head != 0 || tail%ss != 0 {
			// Partial first or last sector: start from the current plaintext.
			if err := p.readSectors(chunk, start); err != nil {
				return n, err
			}
		}
		copy(chunk[head:], b[n:n+int(tail)])
		p.c.crypt(chunk, chunk, p.sectorSize, p.ivTweak+start/512, true)
		if _, err := p.dev.WriteAt(chunk, int64(p.offset+start)); err != nil {
			return n, fmt.Errorf("write payload at %d: %w", start, err)
		}
		n += int(tail)
	}
	return n, nil
}
