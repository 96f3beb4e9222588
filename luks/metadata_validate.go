package luks

import (
	"fmt"
	"slices"
	"sort"
)

// validate checks the cross references and the geometry of the metadata.
func (m *Metadata) validate(hdrSize uint64) error {
	if m.Config.JSONSize != hdrSize-binHeaderSize {
		return fieldErr("config.json_size", "%d does not match the binary header (hdr_size %d leaves %d)",
			m.Config.JSONSize, hdrSize, hdrSize-binHeaderSize)
	}
	ks := m.Config.KeyslotsSize
	if ks%4096 != 0 {
		return fieldErr("config.keyslots_size", "%d is not a multiple of 4096", ks)
	}
	if ks > maxKeyslotsSize {
		return fieldErr("config.keyslots_size", "%d is over the limit of %d", ks, maxKeyslotsSize)
	}
	areaStart, areaEnd := 2*hdrSize, 2*hdrSize+ks
	if err := m.validateKeyslots(areaStart, areaEnd); err != nil {
		return err
	}
	if err := m.validateRefs(); err != nil {
		return err
	}
	return m.validateSegments(areaEnd)
}

// validateKeyslots checks that keyslot areas lie in the keyslots area
// without overlapping, are big enough, and that each keyslot has one digest.
func (m *Metadata) validateKeyslots(areaStart, areaEnd uint64) error {
	type span struct {
		id       int
		off, end uint64
	}
	var spans []span
	for _, id := range sortedIDs(m.Keyslots) {
		k := m.Keyslots[id]
		p := fmt.Sprintf("keyslots.%d", id)
		a := k.Area
		if a.Size == 0 || a.Offset < areaStart || a.Offset+a.Size > areaEnd || a.Offset+a.Size < a.Offset {
			return fieldErr(p+".area", "offset %d size %d is outside the keyslots area [%d, %d)",
				a.Offset, a.Size, areaStart, areaEnd)
		}
		if a.Offset%512 != 0 {
			return fieldErr(p+".area.offset", "%d is not sector aligned", a.Offset)
		}
		for _, s := range spans {
			if a.Offset < s.end && s.off < a.Offset+a.Size {
				return fieldErr(p+".area", "overlaps the area of keyslot %d", s.id)
			}
		}
		spans = append(spans, span{id, a.Offset, a.Offset + a.Size})
		if k.Type == "luks2" {
			if need := afSplitAreaSize(k.KeySize, k.AF.Stripes); need > a.Size {
				return fieldErr(p+".area.size", "%d is too small for a %d-byte key in %d stripes (%d needed)",
					a.Size, k.KeySize, k.AF.Stripes, need)
			}
			if len(k.KDF.Salt) == 0 {
				return fieldErr(p+".kdf.salt", "is empty")
			}
		}
		n := 0
		for _, d := range m.Digests {
			if slices.Contains(d.Keyslots, id) {
				n++
			}
		}
		if n == 0 && k.Type == "luks2" {
			return fieldErr(p, "is not assigned to any digest")
		}
		if n > 1 {
			return fieldErr(p, "is assigned to %d digests", n)
		}
	}
	return nil
}

// validateRefs checks that digests and tokens name existing objects.
func (m *Metadata) validateRefs() error {
	for _, id := range sortedIDs(m.Digests) {
		d := m.Digests[id]
		p := fmt.Sprintf("digests.%d", id)
		for _, k := range d.Keyslots {
			if m.Keyslots[k] == nil {
				return fieldErr(p+".keyslots", "references keyslot %d, which does not exist", k)
			}
		}
		for _, s := range d.Segments {
			if m.Segments[s] == nil {
				return fieldErr(p+".segments", "references segment %d, which does not exist", s)
			}
		}
		if d.Type == "pbkdf2" && (len(d.Digest) == 0 || len(d.Salt) == 0) {
			return fieldErr(p, "has an empty salt or digest")
		}
	}
	for _, id := range sortedIDs(m.Tokens) {
		for _, k := range m.Tokens[id].Keyslots {
			if m.Keyslots[k] == nil {
				return fieldErr(fmt.Sprintf("tokens.%d.keyslots", id), "references keyslot %d, which does not exist", k)
			}
		}
	}
	return nil
}

// validateSegments checks that segments are numbered 0, 1, ..., aligned,
// after the header area and in order without overlap.
func (m *Metadata) validateSegments(areaEnd uint64) error {
	var prevEnd uint64
	prevDynamic := false
	for i, id := range sortedIDs(m.Segments) {
		s := m.Segments[id]
		p := fmt.Sprintf("segments.%d", id)
		if id != i {
			return fieldErr(p, "segment ids must be 0, 1, ... without gaps")
		}
		if s.Offset%512 != 0 {
			return fieldErr(p+".offset", "%d is not a multiple of 512", s.Offset)
		}
		if s.Offset != 0 && s.Offset < areaEnd {
			return fieldErr(p+".offset", "%d lies inside the header and keyslots area (ends at %d)", s.Offset, areaEnd)
		}
		if i > 0 && (prevDynamic || s.Offset < prevEnd) {
			return fieldErr(p+".offset", "overlaps the previous segment")
		}
		if s.Type == "crypt" && !s.Dynamic && s.Size%uint64(s.SectorSize) != 0 {
			return fieldErr(p+".size", "%d is not a multiple of the sector size %d", s.Size, s.SectorSize)
		}
		prevEnd, prevDynamic = s.Offset+s.Size, s.Dynamic
	}
	return nil
}

func sortedIDs[T any](m map[int]T) []int {
	ids := make([]int, 0, len(m))
	for id := range m {
		ids = append(ids, id)
	}
	sort.Ints(ids)
	return ids
}
