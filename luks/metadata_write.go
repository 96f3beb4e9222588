package luks

import (
	"encoding/json"
	"slices"
	"strconv"
)

// marshal encodes the metadata as compact JSON, in the member order
// cryptsetup uses, unknown members after the known ones.
func (m *Metadata) marshal() []byte {
	var w jsonWriter
	w.open()
	w.key("keyslots")
	w.open()
	for _, id := range sortedIDs(m.Keyslots) {
		w.key(strconv.Itoa(id))
		m.Keyslots[id].write(&w)
	}
	w.close()
	w.key("tokens")
	w.open()
	for _, id := range sortedIDs(m.Tokens) {
		t := m.Tokens[id]
		fs := slices.Clone(t.Fields)
		if len(fs) == 0 {
			fs = object{{Key: "type", Value: mustJSON(t.Type)}}
		}
		fs.set("keyslots", mustJSON(idStrings(t.Keyslots)))
		w.raw(strconv.Itoa(id), mustJSON(fs))
	}
	w.close()
	w.key("segments")
	w.open()
	for _, id := range sortedIDs(m.Segments) {
		w.key(strconv.Itoa(id))
		m.Segments[id].write(&w)
	}
	w.close()
	w.key("digests")
	w.open()
	for _, id := range sortedIDs(m.Digests) {
		w.key(strconv.Itoa(id))
		m.Digests[id].write(&w)
	}
	w.close()
	w.key("config")
	c := &m.Config
	w.open()
	w.u64("json_size", c.JSONSize)
	w.u64("keyslots_size", c.KeyslotsSize)
	if c.hasFlags || len(c.Flags) > 0 {
		w.strs("flags", c.Flags)
	}
	if len(c.Requirements) > 0 {
		w.raw("requirements", c.Requirements)
	}
	w.extra(c.Extra)
	w.close()
	w.extra(m.Extra)
	w.close()
	return w.b.Bytes()
}

func (k *Keyslot) write(w *jsonWriter) {
	w.open()
	w.str("type", k.Type)
	w.int("key_size", int64(k.KeySize))
	if k.Type == "luks2" {
		w.key("af")
		w.open()
		w.str("type", k.AF.Type)
		w.int("stripes", int64(k.AF.Stripes))
		w.str("hash", k.AF.Hash)
		w.extra(k.AF.Extra)
		w.close()
	}
	w.key("area")
	w.open()
	w.str("type", k.Area.Type)
	w.u64("offset", k.Area.Offset)
	w.u64("size", k.Area.Size)
	if k.Area.Type == "raw" {
		w.str("encryption", k.Area.Encryption)
		w.int("key_size", int64(k.Area.KeySize))
	}
	w.extra(k.Area.Extra)
	w.close()
	if k.Type == "luks2" {
		w.key("kdf")
		w.open()
		w.str("type", k.KDF.Type)
		switch k.KDF.Type {
		case "pbkdf2":
			w.str("hash", k.KDF.Hash)
			w.int("iterations", int64(k.KDF.Iterations))
		case "argon2i", "argon2id":
			w.int("time", int64(k.KDF.Time))
			w.int("memory", int64(k.KDF.Memory))
			w.int("cpus", int64(k.KDF.CPUs))
		}
		w.b64("salt", k.KDF.Salt)
		w.extra(k.KDF.Extra)
		w.close()
	}
	if k.Priority != nil {
		w.int("priority", int64(*k.Priority))
	}
	w.extra(k.Extra)
	w.close()
}

func (s *Segment) write(w *jsonWriter) {
	w.open()
	w.str("type", s.Type)
	w.u64("offset", s.Offset)
	if s.Dynamic {
		w.str("size", "dynamic")
	} else {
		w.u64("size", s.Size)
	}
	if s.Type == "crypt" {
		w.u64("iv_tweak", s.IVTweak)
		w.str("encryption", s.Encryption)
		w.int("sector_size", int64(s.SectorSize))
		if len(s.Integrity) > 0 {
			w.raw("integrity", s.Integrity)
		}
	}
	if s.hasFlags || len(s.Flags) > 0 {
		w.strs("flags", s.Flags)
	}
	w.extra(s.Extra)
	w.close()
}

func (d *Digest) write(w *jsonWriter) {
	w.open()
	w.str("type", d.Type)
	w.ids("keyslots", d.Keyslots)
	w.ids("segments", d.Segments)
	if d.Type == "pbkdf2" {
		w.str("hash", d.Hash)
		w.int("iterations", int64(d.Iterations))
		w.b64("salt", d.Salt)
		w.b64("digest", d.Digest)
	}
	w.extra(d.Extra)
	w.close()
}

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
