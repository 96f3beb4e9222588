package luks

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
		parse func(id int, obj object, path string) error
	}{
		{"keyslots", MaxKeyslots, parseInto(m.Keyslots, parseKeyslot)},
		{"tokens", MaxTokens, parseInto(m.Tokens, parseToken)},
		{"segments", maxInt32, parseInto(m.Segments, parseSegment)},
		{"digests", maxInt32, parseInto(m.Digests, parseDigest)},
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

// parseInto returns a section's parser: it parses one entry with parse and
// stores it in dst under its id, also when parse fails.
func parseInto[T any](dst map[int]T, parse func(object, string) (T, error)) func(int, object, string) error {
	return func(id int, o object, path string) error {
		v, err := parse(o, path)
		dst[id] = v
		return err
	}
}

func parseKeyslot(o object, path string) (*Keyslot, error) {
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

func parseArea(o object, path string) (Area, error) {
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

func parseAF(o object, path string) (AF, error) {
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

func parseKDF(o object, path string) (KDF, error) {
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

func parseToken(o object, path string) (*Token, error) {
	f := newFields(o, path)
	t := &Token{Fields: o}
	t.Type = f.str("type", true)
	t.Keyslots = f.idArray("keyslots", true)
	return t, f.err
}

func parseSegment(o object, path string) (*Segment, error) {
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

func parseDigest(o object, path string) (*Digest, error) {
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

func parseConfig(o object) (Config, error) {
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
