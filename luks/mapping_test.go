package luks

import (
	"encoding/json"
	"errors"
	"reflect"
	"testing"

	"simplecloud/luks/dm"
)

// v2 returns a LUKS2 header whose metadata holds segs and config flags.
func v2(flags []string, segs ...*Segment) *Header {
	m := &Metadata{Segments: map[int]*Segment{}, Config: Config{Flags: flags}}
	for i, s := range segs {
		m.Segments[i] = s
	}
	return &Header{Version: 2, UUID: "0ca7e5c4-3f5e-4b0e-9a43-5a1e0c3b2d11", Meta: m}
}

func crypt(off, size uint64, sector int) *Segment {
	return &Segment{Type: "crypt", Offset: off, Size: size, Dynamic: size == 0,
		Encryption: "aes-xts-plain64", SectorSize: sector, IVTweak: 7}
}

func TestCryptTarget(t *testing.T) {
	const mib = 1 << 20
	key := []byte("0123456789abcdef0123456789abcdef")
	v1 := &Header{Version: 1, V1: &LUKS1Header{CipherName: "aes", CipherMode: "cbc-essiv:sha256", PayloadOffset: 4096}}
	cases := []struct {
		name    string
		h       *Header
		size    uint64
		want    dm.CryptTarget // Key and Device are filled in below
		wantErr error          // nil: any error when refuse is set
		refuse  bool
	}{
		{name: "LUKS1 to the end of the device", h: v1, size: 10 * mib,
			want: dm.CryptTarget{Cipher: "aes-cbc-essiv:sha256", Offset: 4096, Length: (10*mib - 4096*512) / 512, SectorSize: 512}},
		{name: "LUKS1 partial last sector dropped", h: v1, size: 10*mib + 300,
			want: dm.CryptTarget{Cipher: "aes-cbc-essiv:sha256", Offset: 4096, Length: (10*mib - 4096*512) / 512, SectorSize: 512}},
		{name: "LUKS1 device ends at the payload", h: v1, size: 4096 * 512, refuse: true},
		{name: "LUKS2 dynamic, 512-byte sectors", h: v2(nil, crypt(16*mib, 0, 512)), size: 20*mib + 1000,
			want: dm.CryptTarget{Cipher: "aes-xts-plain64", IVOffset: 7, Offset: 16 * mib / 512, Length: (4*mib + 512) / 512, SectorSize: 512}},
		{name: "LUKS2 dynamic rounded down to 4096-byte sectors", h: v2(nil, crypt(16*mib, 0, 4096)), size: 20*mib + 4000,
			want: dm.CryptTarget{Cipher: "aes-xts-plain64", IVOffset: 7, Offset: 16 * mib / 512, Length: 4 * mib / 512, SectorSize: 4096}},
		{name: "LUKS2 fixed length ignores the device size", h: v2(nil, crypt(16*mib, 2*mib, 4096)), size: 100 * mib,
			want: dm.CryptTarget{Cipher: "aes-xts-plain64", IVOffset: 7, Offset: 16 * mib / 512, Length: 2 * mib / 512, SectorSize: 4096}},
		{name: "LUKS2 allow-discards flag", h: v2([]string{"no-read-workqueue", "allow-discards"}, crypt(16*mib, 0, 512)), size: 17 * mib,
			want: dm.CryptTarget{Cipher: "aes-xts-plain64", IVOffset: 7, Offset: 16 * mib / 512, Length: mib / 512, SectorSize: 512, AllowDiscards: true}},
		{name: "LUKS2 dynamic on a device shorter than the offset", h: v2(nil, crypt(16*mib, 0, 512)), size: 8 * mib, refuse: true},
		{name: "LUKS2 dynamic smaller than one sector", h: v2(nil, crypt(16*mib, 0, 4096)), size: 16*mib + 4000, refuse: true},
		{name: "LUKS2 integrity", h: func() *Header {
			s := crypt(16*mib, 0, 4096)
			s.Integrity = json.RawMessage(`{"type":"hmac(sha256)","journal_encryption":"none","journal_integrity":"none"}`)
			return v2(nil, s)
		}(), size: 100 * mib, wantErr: ErrUnsupported},
		{name: "LUKS2 two segments", h: v2(nil, crypt(16*mib, 2*mib, 512), crypt(18*mib, 0, 512)), size: 100 * mib, wantErr: ErrUnsupported},
		{name: "LUKS2 segment 0 not crypt", h: v2(nil, &Segment{Type: "linear", Offset: 16 * mib, Dynamic: true}), size: 100 * mib, wantErr: ErrUnsupported},
		{name: "LUKS2 no segment", h: v2(nil), size: 100 * mib, wantErr: ErrUnsupported},
		{name: "LUKS2 unknown mandatory requirement", h: func() *Header {
			h := v2(nil, crypt(16*mib, 0, 512))
			h.Meta.Config.Requirements = json.RawMessage(`{"mandatory":["online-reencrypt-v2"]}`)
			return h
		}(), size: 100 * mib, wantErr: ErrRequirements},
		{name: "neither version", h: &Header{}, size: 100 * mib, wantErr: ErrInvalidHeader},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := c.h.CryptTarget("/dev/vda", c.size, key)
			if c.refuse || c.wantErr != nil {
				if err == nil {
					t.Fatalf("got %+v, want an error", got)
				}
				if c.wantErr != nil && !errors.Is(err, c.wantErr) {
					t.Fatalf("got error %v, want %v", err, c.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if &got.Key[0] != &key[0] {
				t.Errorf("the target holds a copy of the key, want the caller's slice")
			}
			want := c.want
			want.Key, want.Device = got.Key, "/dev/vda"
			if !equalTarget(got, want) {
				t.Errorf("got %+v, want %+v", got, want)
			}
		})
	}
}

func equalTarget(a, b dm.CryptTarget) bool {
	a.Key, b.Key = nil, nil
	return reflect.DeepEqual(a, b)
}

func TestDMUUID(t *testing.T) {
	cases := []struct {
		version    int
		uuid, name string
		want       string
	}{
		{2, "0ca7e5c4-3f5e-4b0e-9a43-5a1e0c3b2d11", "data", "CRYPT-LUKS2-0ca7e5c43f5e4b0e9a435a1e0c3b2d11-data"},
		{1, "0ca7e5c4-3f5e-4b0e-9a43-5a1e0c3b2d11", "old", "CRYPT-LUKS1-0ca7e5c43f5e4b0e9a435a1e0c3b2d11-old"},
	}
	for _, c := range cases {
		if got := DMUUID(c.version, c.uuid, c.name); got != c.want {
			t.Errorf("DMUUID(%d, %q, %q): got %q, want %q", c.version, c.uuid, c.name, got, c.want)
		}
	}
}
