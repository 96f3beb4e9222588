package dm

import (
	"bytes"
	"reflect"
	"strings"
	"testing"
)

var testKey = []byte{0x00, 0x11, 0x22, 0x33, 0xde, 0xad, 0xbe, 0xef}

func TestCryptParams(t *testing.T) {
	base := CryptTarget{Cipher: "aes-xts-plain64", Key: testKey, Offset: 32768, Length: 8192, Device: "/dev/vdb"}
	cases := []struct {
		what string
		edit func(*CryptTarget)
		want string
	}{
		{"plain", nil, "aes-xts-plain64 00112233deadbeef 0 /dev/vdb 32768"},
		{"512 is the default", func(c *CryptTarget) { c.SectorSize = 512 }, "aes-xts-plain64 00112233deadbeef 0 /dev/vdb 32768"},
		{"iv offset, MAJ:MIN", func(c *CryptTarget) { c.IVOffset = 7; c.Device = "254:16" }, "aes-xts-plain64 00112233deadbeef 7 254:16 32768"},
		{"discards", func(c *CryptTarget) { c.AllowDiscards = true }, "aes-xts-plain64 00112233deadbeef 0 /dev/vdb 32768 1 allow_discards"},
		{"4096", func(c *CryptTarget) { c.SectorSize = 4096 }, "aes-xts-plain64 00112233deadbeef 0 /dev/vdb 32768 1 sector_size:4096"},
		{"both", func(c *CryptTarget) { c.SectorSize = 4096; c.AllowDiscards = true },
			"aes-xts-plain64 00112233deadbeef 0 /dev/vdb 32768 2 allow_discards sector_size:4096"},
		{"read-only is not in the line", func(c *CryptTarget) { c.ReadOnly = true }, "aes-xts-plain64 00112233deadbeef 0 /dev/vdb 32768"},
	}
	for _, c := range cases {
		ct := base
		if c.edit != nil {
			c.edit(&ct)
		}
		got, err := ct.params()
		if err != nil {
			t.Errorf("%s: %v", c.what, err)
			continue
		}
		if string(got) != c.want {
			t.Errorf("%s: got %q, want %q", c.what, got, c.want)
		}
		if cap(got) != len(got) {
			t.Errorf("%s: line has spare capacity %d: it was sized wrong and may have been copied", c.what, cap(got)-len(got))
		}
	}
	if !bytes.Equal(base.Key, []byte{0x00, 0x11, 0x22, 0x33, 0xde, 0xad, 0xbe, 0xef}) {
		t.Errorf("params changed the caller's key")
	}
}

func TestCryptValidate(t *testing.T) {
	base := CryptTarget{Cipher: "aes-xts-plain64", Key: testKey, Length: 8, Device: "8:16"}
	cases := []struct {
		what string
		edit func(*CryptTarget)
	}{
		{"no cipher", func(c *CryptTarget) { c.Cipher = "" }},
		{"cipher with space", func(c *CryptTarget) { c.Cipher = "aes xts" }},
		{"no key", func(c *CryptTarget) { c.Key = nil }},
		{"no device", func(c *CryptTarget) { c.Device = "" }},
		{"device with newline", func(c *CryptTarget) { c.Device = "/dev/vdb\n" }},
		{"zero length", func(c *CryptTarget) { c.Length = 0 }},
		{"sector size 3000", func(c *CryptTarget) { c.SectorSize = 3000 }},
		{"length not a multiple of 4096", func(c *CryptTarget) { c.SectorSize = 4096; c.Length = 12 }},
	}
	for _, c := range cases {
		ct := base
		c.edit(&ct)
		_, err := ct.params()
		if err == nil {
			t.Errorf("%s: accepted", c.what)
			continue
		}
		if strings.Contains(err.Error(), "00112233") || strings.Contains(err.Error(), "deadbeef") {
			t.Errorf("%s: error shows the key: %v", c.what, err)
		}
	}
	if _, err := base.params(); err != nil {
		t.Errorf("base target rejected: %v", err)
	}
}

func TestMaskCryptKey(t *testing.T) {
	cases := map[string]string{
		"aes-xts-plain64 00112233deadbeef 0 8:16 0":       "aes-xts-plain64 0000000000000000 0 8:16 0",
		"aes-xts-plain64 :64:logon:cryptsetup:x 0 8:16 0": "aes-xts-plain64 :64:logon:cryptsetup:x 0 8:16 0",
		"cipher_null-ecb - 0 8:16 0":                      "cipher_null-ecb - 0 8:16 0",
		"aes-cbc-essiv:sha256 abcd":                       "aes-cbc-essiv:sha256 0000",
		"onlyoneword":                                     "onlyoneword",
		"":                                                "",
		"capi:xts(aes)-plain64 ABCDEF 0 8:16 0 1 sector_size:4096": "capi:xts(aes)-plain64 000000 0 8:16 0 1 sector_size:4096",
	}
	for in, want := range cases {
		b := []byte(in)
		maskCryptKey(b)
		if string(b) != want {
			t.Errorf("mask %q: got %q, want %q", in, b, want)
		}
	}
}

func TestParseCryptRoundTrip(t *testing.T) {
	targets := []CryptTarget{
		{Cipher: "aes-xts-plain64", Key: testKey, Offset: 32768, Length: 8192, Device: "254:16", SectorSize: 512},
		{Cipher: "aes-xts-plain64", Key: testKey, IVOffset: 3, Offset: 1, Length: 8, Device: "8:0", SectorSize: 4096, AllowDiscards: true},
		{Cipher: "aes-cbc-essiv:sha256", Key: testKey, Length: 1, Device: "/dev/loop0", SectorSize: 512, AllowDiscards: true},
	}
	for _, want := range targets {
		line, err := want.params()
		if err != nil {
			t.Fatal(err)
		}
		got, err := ParseCrypt(Target{Length: want.Length, Type: "crypt", Params: string(line)})
		if err != nil {
			t.Errorf("parse %q: %v", line, err)
			continue
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("round trip of %q:\n got %+v\nwant %+v", line, got, want)
		}
	}

	// A masked table keeps the key size; a keyring reference has no key.
	got, err := ParseCrypt(Target{Type: "crypt", Params: "aes-xts-plain64 0000000000000000 0 8:16 0"})
	if err != nil || len(got.Key) != 8 || !bytes.Equal(got.Key, make([]byte, 8)) {
		t.Errorf("masked: got key %x, %v; want 8 zero bytes", got.Key, err)
	}
	got, err = ParseCrypt(Target{Type: "crypt", Params: "aes-xts-plain64 :64:logon:cryptsetup:x 0 8:16 0 3 same_cpu_crypt sector_size:4096 no_read_workqueue"})
	if err != nil || !bytes.Equal(got.Key, make([]byte, 64)) || got.SectorSize != 4096 {
		t.Errorf("keyring: got %+v, %v; want 64 zero bytes of key, sector size 4096", got, err)
	}
	got, err = ParseCrypt(Target{Type: "crypt", Params: "cipher_null-ecb - 0 8:16 0"})
	if err != nil || got.Key != nil {
		t.Errorf("no key: got %+v, %v; want a nil key", got, err)
	}

	for _, bad := range []Target{
		{Type: "linear", Params: "8:16 0"},
		{Type: "crypt", Params: "aes-xts-plain64 0011 0 8:16"},
		{Type: "crypt", Params: "aes-xts-plain64 zz 0 8:16 0"},
		{Type: "crypt", Params: "aes-xts-plain64 0011 x 8:16 0"},
		{Type: "crypt", Params: "aes-xts-plain64 0011 0 8:16 y"},
		{Type: "crypt", Params: "aes-xts-plain64 0011 0 8:16 0 2 allow_discards"},
		{Type: "crypt", Params: "aes-xts-plain64 0011 0 8:16 0 1 sector_size:big"},
		{Type: "crypt", Params: "aes-xts-plain64 :x:logon:a 0 8:16 0"},
		{Type: "crypt", Params: "aes-xts-plain64 :99999:logon:a 0 8:16 0"},
		{Type: "crypt", Params: "aes-xts-plain64 :64 0 8:16 0"},
	} {
		if _, err := ParseCrypt(bad); err == nil {
			t.Errorf("ParseCrypt(%+v) accepted", bad)
		}
	}
}

func TestValidName(t *testing.T) {
	good := []string{"a", "cryptdata", "luks-0b1c", "with space", strings.Repeat("n", 127), "dots.are.fine"}
	bad := []string{"", ".", "..", "control", "a/b", "nul\x00", "tab\t", "del\x7f", strings.Repeat("n", 128)}
	for _, n := range good {
		if err := ValidName(n); err != nil {
			t.Errorf("ValidName(%q): %v", n, err)
		}
	}
	for _, n := range bad {
		if ValidName(n) == nil {
			t.Errorf("ValidName(%q) accepted", n)
		}
	}
}

func TestValidUUID(t *testing.T) {
	good := []string{"", "CRYPT-PLAIN-vol", "CRYPT-LUKS2-0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e-vol", strings.Repeat("u", 128)}
	bad := []string{strings.Repeat("u", 129), "nl\n", "nul\x00"}
	for _, u := range good {
		if err := ValidUUID(u); err != nil {
			t.Errorf("ValidUUID(%q): %v", u, err)
		}
	}
	for _, u := range bad {
		if ValidUUID(u) == nil {
			t.Errorf("ValidUUID(%q) accepted", u)
		}
	}
}

func TestMaskCryptKeyOddSpacing(t *testing.T) {
	b := []byte("  aes-xts-plain64 \t 00112233 0 8:16 0")
	maskCryptKey(b)
	c, err := ParseCrypt(Target{Type: "crypt", Params: string(b)})
	if err != nil || !bytes.Equal(c.Key, make([]byte, 4)) {
		t.Errorf("got %q: key %x, %v; want the key masked", b, c.Key, err)
	}
}
