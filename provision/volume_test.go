package provision

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"simplecloud/luks"
	"simplecloud/luks/dm"
)

// TestActivateLikeLuksOpen checks that unlock maps what luks open maps: a
// LUKS1 volume (refused before), and a LUKS2 volume whose header asks for
// discards (ignored before).
func TestActivateLikeLuksOpen(t *testing.T) {
	const uuid = "0ca7e5c4-3f5e-4b0e-9a43-5a1e0c3b2d11"
	v1 := &luks.Header{Version: 1, UUID: uuid, V1: &luks.LUKS1Header{CipherName: "aes", CipherMode: "xts-plain64", PayloadOffset: 4096}}
	v2 := &luks.Header{Version: 2, UUID: uuid, Meta: &luks.Metadata{
		Segments: map[int]*luks.Segment{0: {Type: "crypt", Offset: 16 << 20, Dynamic: true, Encryption: "aes-xts-plain64", SectorSize: 4096}},
		Config:   luks.Config{Flags: []string{"allow-discards"}},
	}}
	cases := []struct {
		name     string
		h        *luks.Header
		discard  bool
		size     uint64
		want     dm.CryptTarget
		wantUUID string
	}{
		{"LUKS1", v1, false, 32 << 20,
			dm.CryptTarget{Cipher: "aes-xts-plain64", Offset: 4096, Length: (32<<20)/512 - 4096, SectorSize: 512},
			"CRYPT-LUKS1-0ca7e5c43f5e4b0e9a435a1e0c3b2d11-data"},
		{"LUKS2 header flag allow-discards", v2, false, 32<<20 + 1000,
			dm.CryptTarget{Cipher: "aes-xts-plain64", Offset: (16 << 20) / 512, Length: (16 << 20) / 512, SectorSize: 4096, AllowDiscards: true},
			"CRYPT-LUKS2-0ca7e5c43f5e4b0e9a435a1e0c3b2d11-data"},
		{"LUKS1 discard from the config", v1, true, 32 << 20,
			dm.CryptTarget{Cipher: "aes-xts-plain64", Offset: 4096, Length: (32<<20)/512 - 4096, SectorSize: 512, AllowDiscards: true},
			"CRYPT-LUKS1-0ca7e5c43f5e4b0e9a435a1e0c3b2d11-data"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			fm := newFileMapper(t.TempDir())
			if err := activate(fm, "data", c.h, "/dev/vdb", c.size, []byte("key"), c.discard); err != nil {
				t.Fatal(err)
			}
			got := fm.created["data"]
			got.Key = nil
			c.want.Device = "/dev/vdb"
			if !reflect.DeepEqual(got, c.want) {
				t.Errorf("got %+v, want %+v", got, c.want)
			}
			if fm.uuids["data"] != c.wantUUID {
				t.Errorf("got uuid %q, want %q", fm.uuids["data"], c.wantUUID)
			}
		})
	}
}

// TestUnlockAlreadyOpenLUKS1 checks that a LUKS1 mapping of the configured
// volume counts as already open, not as another device.
func TestUnlockAlreadyOpenLUKS1(t *testing.T) {
	sys, cfg, fm, _ := installedSystem(t)
	name := cfg.Volume.Name
	fm.created[name], fm.uuids[name] = dm.CryptTarget{}, luks.DMUUID(1, cfg.Volume.UUID, name)
	os.WriteFile(filepath.Join(sys.Proc, "self", "mounts"), []byte("/dev/mapper/"+name+" "+cfg.Volume.Mount+" ext4 rw 0 0\n"), 0o644)
	if _, err := sys.Unlock(context.Background(), cfg, []byte("pw"), nil, 1); !errors.Is(err, ErrAlreadyOpen) {
		t.Errorf("got %v, want ErrAlreadyOpen", err)
	}
	fm.uuids[name] = luks.DMUUID(1, luks.NewUUID(), name)
	if _, err := sys.Unlock(context.Background(), cfg, []byte("pw"), nil, 1); err == nil || errors.Is(err, ErrAlreadyOpen) {
		t.Errorf("another volume's mapping: got %v, want another device refused", err)
	}
}
