package luks

import (
	"bytes"
	"testing"
)

func TestDescribeKeyslot(t *testing.T) {
	h := &Header{Version: 2, Meta: &Metadata{Keyslots: map[int]*Keyslot{
		0: {KDF: KDF{Type: "argon2id", Time: 4, Memory: 1048576, CPUs: 4}},
		1: {KDF: KDF{Type: "pbkdf2", Hash: "sha256", Iterations: 1000}},
	}}}
	for _, c := range []struct {
		h    *Header
		slot int
		want string
	}{
		{h, 0, "key slot 0: argon2id, 4 iterations, 1048576 KiB, 4 threads"},
		{h, 1, "key slot 1: pbkdf2-sha256, 1000 iterations"},
		{h, 5, "key slot 5"},
		{&Header{Version: 1, V1: &LUKS1Header{}}, 0, "key slot 0"},
	} {
		if got := c.h.DescribeKeyslot(c.slot); got != c.want {
			t.Errorf("slot %d: got %q, want %q", c.slot, got, c.want)
		}
	}
}

func TestWriteVolumeKey(t *testing.T) {
	h := &Header{Version: 2, UUID: "0ca7e5c4-3f5e-4b0e-9a43-5a1e0c3b2d11", Meta: &Metadata{Segments: map[int]*Segment{
		0: {Type: "crypt", Encryption: "aes-xts-plain64"}}}}
	var b bytes.Buffer
	if err := WriteVolumeKey(&b, h, "/dev/vdb", []byte{0xde, 0xad, 0xbe, 0xef}); err != nil {
		t.Fatal(err)
	}
	want := "LUKS header information for /dev/vdb\nCipher:        aes-xts-plain64\nUUID:          0ca7e5c4-3f5e-4b0e-9a43-5a1e0c3b2d11\n" +
		"MK bits:       32\nMK dump:       deadbeef\n"
	if b.String() != want {
		t.Errorf("got\n%q\nwant\n%q", b.String(), want)
	}
}
