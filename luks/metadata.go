package luks

import (
	"encoding/json"
	"math"
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
	Extra    object // unknown top-level members
}

// Keyslot is one entry of "keyslots".
type Keyslot struct {
	Type     string // "luks2"; other types are kept but cannot be opened
	KeySize  int    // bytes of the stored key
	Priority *int   // 0 ignore, 1 normal, 2 high; nil when absent (normal)
	AF       AF
	Area     Area
	KDF      KDF
	Extra    object
}

// AF is the anti-forensic splitter of a keyslot.
type AF struct {
	Type    string // "luks1"
	Stripes int
	Hash    string
	Extra   object
}

// Area is the place of a keyslot's binary data.
type Area struct {
	Type       string // "raw" for luks2 keyslots
	Offset     uint64 // bytes from the device start
	Size       uint64 // bytes
	Encryption string // raw only, dm-crypt notation
	KeySize    int    // raw only, bytes
	Extra      object
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
	Extra      object
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
	Extra      object
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
	Extra      object
}

// Token is one entry of "tokens". Only its type and keyslots are
// interpreted; the whole object is kept in order in Fields.
type Token struct {
	Type     string
	Keyslots []int
	Fields   object
}

// Config is the "config" object.
type Config struct {
	JSONSize     uint64
	KeyslotsSize uint64
	Flags        []string
	hasFlags     bool
	Requirements json.RawMessage // kept as is
	Extra        object
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
