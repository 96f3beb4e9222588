package luks

import (
	"encoding/base64"
	"encoding/json"
	"slices"
	"strconv"
)

// marshal encodes the metadata as compact JSON, in the member order
// cryptsetup uses, unknown members after the known ones. Every object is
// built as an ordered object; encoding/json encodes the values.
func (m *Metadata) marshal() []byte {
	var tokens object
	for _, id := range sortedIDs(m.Tokens) {
		t := m.Tokens[id]
		fs := slices.Clone(t.Fields)
		if len(fs) == 0 {
			fs = object{{Key: "type", Value: mustJSON(t.Type)}}
		}
		fs.set("keyslots", mustJSON(idStrings(t.Keyslots)))
		tokens.add(strconv.Itoa(id), mustJSON(fs))
	}
	var o object
	o.add("keyslots", encodeByID(m.Keyslots, (*Keyslot).object))
	o.add("tokens", tokens.encode())
	o.add("segments", encodeByID(m.Segments, (*Segment).object))
	o.add("digests", encodeByID(m.Digests, (*Digest).object))
	o.add("config", m.Config.object().encode())
	return append(o, m.Extra...).encode()
}

// encodeByID encodes a section of the metadata: an object of objects named
// by their ids, in ascending order.
func encodeByID[T any](m map[int]T, obj func(T) object) json.RawMessage {
	var o object
	for _, id := range sortedIDs(m) {
		o.add(strconv.Itoa(id), obj(m[id]).encode())
	}
	return o.encode()
}

func (k *Keyslot) object() object {
	var o object
	o.put("type", k.Type)
	o.put("key_size", k.KeySize)
	if k.Type == "luks2" {
		var af object
		af.put("type", k.AF.Type)
		af.put("stripes", k.AF.Stripes)
		af.put("hash", k.AF.Hash)
		o.add("af", append(af, k.AF.Extra...).encode())
	}
	var area object
	area.put("type", k.Area.Type)
	area.put("offset", decimal(k.Area.Offset))
	area.put("size", decimal(k.Area.Size))
	if k.Area.Type == "raw" {
		area.put("encryption", k.Area.Encryption)
		area.put("key_size", k.Area.KeySize)
	}
	o.add("area", append(area, k.Area.Extra...).encode())
	if k.Type == "luks2" {
		o.add("kdf", k.KDF.object().encode())
	}
	if k.Priority != nil {
		o.put("priority", *k.Priority)
	}
	return append(o, k.Extra...)
}

func (k *KDF) object() object {
	var o object
	o.put("type", k.Type)
	switch k.Type {
	case "pbkdf2":
		o.put("hash", k.Hash)
		o.put("iterations", k.Iterations)
	case "argon2i", "argon2id":
		o.put("time", k.Time)
		o.put("memory", k.Memory)
		o.put("cpus", k.CPUs)
	}
	o.put("salt", base64.StdEncoding.EncodeToString(k.Salt))
	return append(o, k.Extra...)
}

func (s *Segment) object() object {
	var o object
	o.put("type", s.Type)
	o.put("offset", decimal(s.Offset))
	if s.Dynamic {
		o.put("size", "dynamic")
	} else {
		o.put("size", decimal(s.Size))
	}
	if s.Type == "crypt" {
		o.put("iv_tweak", decimal(s.IVTweak))
		o.put("encryption", s.Encryption)
		o.put("sector_size", s.SectorSize)
		if len(s.Integrity) > 0 {
			o.add("integrity", s.Integrity)
		}
	}
	if s.hasFlags || len(s.Flags) > 0 {
		o.put("flags", append([]string{}, s.Flags...))
	}
	return append(o, s.Extra...)
}

func (d *Digest) object() object {
	var o object
	o.put("type", d.Type)
	o.put("keyslots", idStrings(d.Keyslots))
	o.put("segments", idStrings(d.Segments))
	if d.Type == "pbkdf2" {
		o.put("hash", d.Hash)
		o.put("iterations", d.Iterations)
		o.put("salt", base64.StdEncoding.EncodeToString(d.Salt))
		o.put("digest", base64.StdEncoding.EncodeToString(d.Digest))
	}
	return append(o, d.Extra...)
}

func (c *Config) object() object {
	var o object
	o.put("json_size", decimal(c.JSONSize))
	o.put("keyslots_size", decimal(c.KeyslotsSize))
	if c.hasFlags || len(c.Flags) > 0 {
		o.put("flags", append([]string{}, c.Flags...))
	}
	if len(c.Requirements) > 0 {
		o.add("requirements", c.Requirements)
	}
	return append(o, c.Extra...)
}

// decimal is how LUKS2 writes 64-bit numbers: as decimal strings, which
// JSON parsers that hold numbers in doubles read without loss.
func decimal(v uint64) string { return strconv.FormatUint(v, 10) }

func idStrings(ids []int) []string {
	out := make([]string, len(ids))
	for i, n := range ids {
		out[i] = strconv.Itoa(n)
	}
	return out
}

func mustJSON(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}
