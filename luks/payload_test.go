package luks

import (
	"bytes"
	"crypto/aes"
	"crypto/rand"
	"io"
	"testing"

	"golang.org/x/crypto/xts"
)

func TestPayloadRoundTrip(t *testing.T) {
	for _, ss := range []int{512, 4096} {
		dev := &memDev{b: make([]byte, 4<<20)}
		h, vk, err := Format(dev, FormatOptions{
			PBKDF: fastPBKDF2, DigestIterations: 1000, DataOffset: 1 << 20, SectorSize: ss,
			Device: Geometry{Size: 4 << 20, LogicalSectorSize: 512, PhysicalSectorSize: 4096},
		}, []byte("pw"))
		if err != nil {
			t.Fatal(err)
		}
		p, err := h.Payload(dev, vk, uint64(len(dev.b)))
		if err != nil {
			t.Fatal(err)
		}
		if p.Size() != 3<<20 {
			t.Fatalf("payload size %d, want %d", p.Size(), 3<<20)
		}
		plain := make([]byte, p.Size())
		rand.Read(plain)
		if _, err := p.WriteAt(plain, 0); err != nil {
			t.Fatal(err)
		}
		// Unaligned overwrite in the middle and at the end.
		patch := []byte("hello, unaligned world")
		for _, off := range []int64{1000, 4095, p.Size() - int64(len(patch))} {
			if _, err := p.WriteAt(patch, off); err != nil {
				t.Fatal(err)
			}
			copy(plain[off:], patch)
		}
		got := make([]byte, len(plain))
		if _, err := p.ReadAt(got, 0); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, plain) {
			t.Fatalf("sector %d: read back differs", ss)
		}
		small := make([]byte, 7)
		if _, err := p.ReadAt(small, 4093); err != nil || !bytes.Equal(small, plain[4093:4100]) {
			t.Fatalf("small read: %v", err)
		}
		if n, err := p.ReadAt(make([]byte, 10), p.Size()-4); n != 4 || err != io.EOF {
			t.Fatalf("read past end: %d %v", n, err)
		}
		// The ciphertext on the device is dm-crypt's: XTS with the 512-byte
		// sector number of each sector as tweak.
		ref, _ := xts.NewCipher(aes.NewCipher, vk)
		ct := dev.b[1<<20 : 1<<20+ss*3]
		want := make([]byte, len(ct))
		for i := 0; i < 3; i++ {
			ref.Decrypt(want[i*ss:(i+1)*ss], ct[i*ss:(i+1)*ss], uint64(i*ss/512))
		}
		if !bytes.Equal(want, plain[:len(want)]) {
			t.Fatalf("sector %d: on-disk layout is not dm-crypt's", ss)
		}
		if _, err := p.WriteAt([]byte("x"), p.Size()); err == nil {
			t.Fatal("write past the end succeeded")
		}
	}
}
