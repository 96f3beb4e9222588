package client

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"

	"simplecloud/sync/core"
)

// decoder reads an ancestor file's fields, remembering the first error.
type decoder struct {
	b   []byte
	err error
}

var errTruncated = errors.New("truncated")

func (d *decoder) uvarint() uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.err = errTruncated
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) varint() int64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.err = errTruncated
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) bytes(n uint64) []byte {
	if d.err != nil {
		return nil
	}
	if n > uint64(len(d.b)) {
		d.err = errTruncated
		return nil
	}
	v := d.b[:n]
	d.b = d.b[n:]
	return v
}

func (d *decoder) byte() byte {
	if v := d.bytes(1); v != nil {
		return v[0]
	}
	return 0
}

func (d *decoder) string() string { return string(d.bytes(d.uvarint())) }

// decodeState checks and decodes an ancestor file (see state).
func decodeState(data []byte) (*state, core.Tree, error) {
	if len(data) < len(stateMagic)+1+sha256.Size || string(data[:len(stateMagic)]) != stateMagic {
		return nil, core.Tree{}, errors.New("not a sync state file (or one of an older format)")
	}
	if v := data[len(stateMagic)]; v != stateVersion {
		return nil, core.Tree{}, fmt.Errorf("format version %d, this simplecloud reads %d", v, stateVersion)
	}
	body, sum := data[:len(data)-sha256.Size], data[len(data)-sha256.Size:]
	if s := sha256.Sum256(body); !bytes.Equal(s[:], sum) {
		return nil, core.Tree{}, errors.New("checksum mismatch: the file is damaged")
	}
	d := &decoder{b: body[len(stateMagic)+1:]}
	s := &state{Local: d.string(), Remote: d.string()}
	if fsb := d.bytes(16); fsb != nil {
		s.FS = FSID{Dev: binary.BigEndian.Uint64(fsb), FSID: binary.BigEndian.Uint64(fsb[8:])}
	}
	t, err := d.entries()
	if err != nil {
		return nil, core.Tree{}, err
	}
	return s, t, nil
}

// entries decodes the ancestor's entries up to the checksum.
func (d *decoder) entries() (core.Tree, error) {
	n := d.uvarint()
	if n > uint64(len(d.b)) {
		return core.Tree{}, fmt.Errorf("entry count %d larger than the file", n)
	}
	var b core.Builder
	b.Grow(int(n))
	var buf []byte // the path before, then this one: one string made an entry
	mtime := int64(0)
	for range n {
		shared := d.uvarint()
		if shared > uint64(len(buf)) {
			return core.Tree{}, errors.New("bad path prefix")
		}
		buf = append(buf[:shared], d.bytes(d.uvarint())...)
		p := string(buf)
		e := core.Entry{Kind: core.Kind(d.byte())}
		e.Mode = fs.FileMode(d.uvarint()) & core.PermMask
		e.MTime = mtime + d.varint()
		switch e.Kind {
		case core.File:
			e.Size = int64(d.uvarint())
			copy(e.Hash[:], d.bytes(32))
		case core.Symlink:
			e.Target = d.string()
		case core.Dir:
		default:
			if d.err == nil {
				return core.Tree{}, fmt.Errorf("bad kind %d at %q", e.Kind, p)
			}
		}
		if d.err != nil {
			return core.Tree{}, d.err
		}
		if err := b.Add(p, e); err != nil { // checks the path too
			return core.Tree{}, err
		}
		mtime = e.MTime
	}
	if d.err != nil {
		return core.Tree{}, d.err
	}
	if len(d.b) != 0 {
		return core.Tree{}, fmt.Errorf("%d bytes after the entries", len(d.b))
	}
	return b.Build()
}
