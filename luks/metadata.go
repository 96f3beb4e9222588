package luks

import (
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"sort"
	"strconv"
)

// Limits of the reference implementation, enforced when reading so that a
// header cryptsetup would reject is rejected here too.
const (
	MaxKeyslots     = 32
	MaxTokens       = 32
	maxKeySize      = 1024      // bytes, generous
	maxStripes      = 4000      // the only AF stripes value in use
	maxArgonMemory  = 4 << 20   // KiB, cryptsetup's limit (4 GiB)
	maxArgonThreads = 16        // cryptsetup's limit
	maxIterations   = 1<<32 - 1 // uint32 in cryptsetup
	maxKeyslotsSize = 128 << 20 // bytes, cryptsetup's LUKS2_MAX_KEYSLOTS_SIZE
	maxInt32        = math.MaxInt32
)

// Metadata is the LUKS2 JSON metadata. Members this package does not use are
// kept in the Extra fields and written back unchanged.
type Metadata struct {
	Keyslots map[int]*Keyslot
	Tokens   map[int]*Token
	Segments map[int]*Segment
	Digests  map[int]*Digest
	Config   Config
	Extra    Object // unknown top-level members
}

// Keyslot is one entry of "keyslots".
type Keyslot struct {
	Type     string // "luks2"; other types are kept but cannot be opened
	KeySize  int    // bytes of the stored key
	Priority *int   // 0 ignore, 1 normal, 2 high; nil when absent (normal)
	AF       AF
	Area     Area
	KDF      KDF
	Extra    Object
}

// AF is the anti-forensic splitter of a keyslot.
type AF struct {
	Type    string // "luks1"
	Stripes int
	Hash    string
	Extra   Object
}

// Area is the place of a keyslot's binary data.
type Area struct {
	Type       string // "raw" for luks2 keyslots
	Offset     uint64 // bytes from the device start
	Size       uint64 // bytes
	Encryption string // raw only, dm-crypt notation
	KeySize    int    // raw only, bytes
	Extra      Object
}

// KDF holds the passphrase hashing parameters of a keyslot.
type KDF struct {
	Type       string // pbkdf2, argon2i, argon2id
	Hash       string // pbkdf2
	Iterations int    // pbkdf2
	Time       int    // argon2
	Memory     int    // argon2, KiB
	CPUs       int    // argon2
	Salt       []byte
	Extra      Object
}

// Segment is one entry of "segments".
type Segment struct {
	Type       string // "crypt"
	Offset     uint64 // bytes
	Size       uint64 // bytes, when not Dynamic
	Dynamic    bool   // size "dynamic": up to the end of the device
	IVTweak    uint64 // crypt only
	Encryption string // crypt only
	SectorSize int    // crypt only
	Flags      []string
	hasFlags   bool
	Integrity  json.RawMessage // crypt only, kept as is
	Extra      Object
}

// Digest is one entry of "digests".
type Digest struct {
	Type       string // "pbkdf2"
	Keyslots   []int
	Segments   []int
	Hash       string
	Iterations int
	Salt       []byte
	Digest     []byte
	Extra      Object
}

// Token is one entry of "tokens". Only its type and keyslots are
// interpreted; the whole object is kept in order in Fields.
type Token struct {
	Type     string
	Keyslots []int
	Fields   Object
}

// Config is the "config" object.
type Config struct {
	JSONSize     uint64
	KeyslotsSize uint64
	Flags        []string
	hasFlags     bool
	Requirements json.RawMessage // kept as is
	Extra        Object
}

// Mandatory returns the mandatory requirements listed in config.requirements.
func (c *Config) Mandatory() []string {
	if len(c.Requirements) == 0 {
		return nil
	}
	var out []string
	switch jsonKind(c.Requirements) {
	case "an object":
		var r struct {
			Mandatory []string `json:"mandatory"`
		}
		if json.Unmarshal(c.Requirements, &r) == nil {
			out = r.Mandatory
		}
	case "an array":
		_ = json.Unmarshal(c.Requirements, &out)
	}
	return out
}

// parseMetadata decodes and validates the JSON metadata of a LUKS2 header
// whose binary header says hdrSize.
func parseMetadata(text []byte, hdrSize uint64) (*Metadata, error) {
	return parseMetadataOpt(text, hdrSize, true)
}

func parseMetadataOpt(text []byte, hdrSize uint64, check bool) (*Metadata, error) {
	top, err := parseObject(text)
	if err != nil {
		return nil, fieldErr("JSON metadata", "%v", err)
	}
	f := newFields(top, "")
	m := &Metadata{
		Keyslots: map[int]*Keyslot{},
		Tokens:   map[int]*Token{},
		Segments: map[int]*Segment{},
		Digests:  map[int]*Digest{},
	}
	sections := []struct {
		name  string
		limit int
		parse func(id int, obj Object, path string) error
	}{
		{"keyslots", MaxKeyslots, func(id int, o Object, p string) error {
			k, err := parseKeyslot(o, p)
			m.Keyslots[id] = k
			return err
		}},
		{"tokens", MaxTokens, func(id int, o Object, p string) error {
			t, err := parseToken(o, p)
			m.Tokens[id] = t
			return err
		}},
		{"segments", maxInt32, func(id int, o Object, p string) error {
			s, err := parseSegment(o, p)
			m.Segments[id] = s
			return err
		}},
		{"digests", maxInt32, func(id int, o Object, p string) error {
			d, err := parseDigest(o, p)
			m.Digests[id] = d
			return err
		}},
	}
	for _, sec := range sections {
		obj := f.object(sec.name, true)
		if f.err != nil {
			return nil, f.err
		}
		for _, mem := range obj {
			path := sec.name + "." + mem.Key
			id, err := parseID(mem.Key)
			if err != nil {
				return nil, fieldErr(path, "object name is not a decimal number")
			}
			if id >= sec.limit {
				return nil, fieldErr(path, "id %d is over the limit of %d", id, sec.limit-1)
			}
			if jsonKind(mem.Value) != "an object" {
				return nil, fieldErr(path, "is %s, want an object", jsonKind(mem.Value))
			}
			o, err := parseObject(mem.Value)
			if err != nil {
				return nil, fieldErr(path, "%v", err)
			}
			if err := sec.parse(id, o, path); err != nil {
				return nil, err
			}
		}
	}
	cfg := f.object("config", true)
	if f.err != nil {
		return nil, f.err
	}
	if m.Config, err = parseConfig(cfg); err != nil {
		return nil, err
	}
	m.Extra = f.rest()
	if check {
		if err := m.validate(hdrSize); err != nil {
			return nil, err
		}
	}
	return m, nil
}

func parseKeyslot(o Object, path string) (*Keyslot, error) {
	f := newFields(o, path)
	k := &Keyslot{}
	k.Type = f.str("type", true)
	k.KeySize = int(f.integer("key_size", true, 1, maxKeySize))
	if f.has("priority") {
		p := int(f.integer("priority", false, 0, 2))
		k.Priority = &p
	}
	if area := f.object("area", true); f.err == nil {
		k.Area, f.err = parseArea(area, path+".area")
	}
	if f.err != nil {
		return nil, f.err
	}
	if k.Type == "luks2" {
		if af := f.object("af", true); f.err == nil {
			k.AF, f.err = parseAF(af, path+".af")
		}
		if kdf := f.object("kdf", true); f.err == nil {
			k.KDF, f.err = parseKDF(kdf, path+".kdf")
		}
		if f.err == nil && k.Area.Type != "raw" {
			f.fail("area.type", "%q, a luks2 keyslot needs \"raw\"", k.Area.Type)
		}
	}
	k.Extra = f.rest()
	return k, f.err
}

func parseArea(o Object, path string) (Area, error) {
	f := newFields(o, path)
	a := Area{}
	a.Type = f.str("type", true)
	a.Offset = f.u64("offset", true)
	a.Size = f.u64("size", true)
	if a.Type == "raw" {
		a.Encryption = f.str("encryption", true)
		a.KeySize = int(f.integer("key_size", true, 1, maxKeySize))
	}
	a.Extra = f.rest()
	return a, f.err
}

func parseAF(o Object, path string) (AF, error) {
	f := newFields(o, path)
	a := AF{}
	a.Type = f.str("type", true)
	if f.err == nil && a.Type != "luks1" {
		f.fail("type", "%q is not a known anti-forensic splitter (want \"luks1\")", a.Type)
	}
	a.Stripes = int(f.integer("stripes", true, 1, maxStripes))
	a.Hash = f.str("hash", true)
	a.Extra = f.rest()
	return a, f.err
}

func parseKDF(o Object, path string) (KDF, error) {
	f := newFields(o, path)
	k := KDF{}
	k.Type = f.str("type", true)
	switch k.Type {
	case "pbkdf2":
		k.Hash = f.str("hash", true)
		k.Iterations = int(f.integer("iterations", true, 1, maxIterations))
	case "argon2i", "argon2id":
		k.Time = int(f.integer("time", true, 1, maxIterations))
		k.Memory = int(f.integer("memory", true, 1, maxArgonMemory))
		k.CPUs = int(f.integer("cpus", true, 1, maxArgonThreads))
	case "":
	default:
		f.fail("type", "%q is not a known key derivation function", k.Type)
	}
	k.Salt = f.b64("salt", true)
	k.Extra = f.rest()
	return k, f.err
}

func parseToken(o Object, path string) (*Token, error) {
	f := newFields(o, path)
	t := &Token{Fields: o}
	t.Type = f.str("type", true)
	t.Keyslots = f.idArray("keyslots", true)
	return t, f.err
}

func parseSegment(o Object, path string) (*Segment, error) {
	f := newFields(o, path)
	s := &Segment{}
	s.Type = f.str("type", true)
	s.Offset = f.u64("offset", true)
	if sz := f.str("size", true); f.err == nil {
		if sz == "dynamic" {
			s.Dynamic = true
		} else if n, err := parseU64(sz); err == nil {
			s.Size = n
		} else {
			f.fail("size", "%q is neither \"dynamic\" nor a decimal number", sz)
		}
	}
	if f.has("flags") {
		s.Flags = f.strArray("flags", false)
		s.hasFlags = true
	}
	if s.Type == "crypt" {
		s.IVTweak = f.u64("iv_tweak", true)
		s.Encryption = f.str("encryption", true)
		s.SectorSize = int(f.integer("sector_size", true, 512, 4096))
		if f.err == nil && (s.SectorSize&(s.SectorSize-1)) != 0 {
			f.fail("sector_size", "%d is not 512, 1024, 2048 or 4096", s.SectorSize)
		}
		if v, ok := f.raw("integrity", false); ok {
			s.Integrity = v
		}
	}
	s.Extra = f.rest()
	return s, f.err
}

func parseDigest(o Object, path string) (*Digest, error) {
	f := newFields(o, path)
	d := &Digest{}
	d.Type = f.str("type", true)
	d.Keyslots = f.idArray("keyslots", true)
	d.Segments = f.idArray("segments", true)
	if d.Type == "pbkdf2" {
		d.Hash = f.str("hash", true)
		d.Iterations = int(f.integer("iterations", true, 1, maxIterations))
		d.Salt = f.b64("salt", true)
		d.Digest = f.b64("digest", true)
	}
	d.Extra = f.rest()
	return d, f.err
}

func parseConfig(o Object) (Config, error) {
	f := newFields(o, "config")
	c := Config{}
	c.JSONSize = f.u64("json_size", true)
	c.KeyslotsSize = f.u64("keyslots_size", true)
	if f.has("flags") {
		c.Flags = f.strArray("flags", false)
		c.hasFlags = true
	}
	if v, ok := f.raw("requirements", false); ok {
		k := jsonKind(v)
		if k != "an object" && k != "an array" {
			f.fail("requirements", "is %s, want an object", k)
		}
		c.Requirements = v
	}
	c.Extra = f.rest()
	return c, f.err
}

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
			fs = Object{{Key: "type", Value: mustJSON(t.Type)}}
		}
		fs.Set("keyslots", mustJSON(idStrings(t.Keyslots)))
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
