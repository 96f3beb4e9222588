package images

import (
	"reflect"
	"strings"
	"testing"
)

const depFixture = `kernel/crypto/cryptd.ko:
kernel/crypto/crypto_simd.ko: kernel/crypto/cryptd.ko
kernel/arch/x86/crypto/aesni-intel.ko: kernel/crypto/crypto_simd.ko kernel/crypto/cryptd.ko
kernel/drivers/md/dm-mod.ko:
kernel/drivers/md/dm-crypt.ko: kernel/drivers/md/dm-mod.ko
kernel/drivers/virtio/virtio.ko:
kernel/drivers/virtio/virtio_ring.ko:
kernel/drivers/block/virtio_blk.ko: kernel/drivers/virtio/virtio_ring.ko kernel/drivers/virtio/virtio.ko
kernel/a.ko: kernel/b.ko
kernel/b.ko: kernel/a.ko
`

func TestModuleOrder(t *testing.T) {
	m, err := ParseModuleDeps(strings.NewReader(depFixture), strings.NewReader("kernel/fs/ext4/ext4.ko\n"))
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		names   []string
		want    []string
		wantErr string
	}{
		{names: []string{"dm-crypt"}, want: []string{"kernel/drivers/md/dm-mod.ko", "kernel/drivers/md/dm-crypt.ko"}},
		{names: []string{"aesni_intel", "cryptd"}, want: []string{"kernel/crypto/cryptd.ko", "kernel/crypto/crypto_simd.ko", "kernel/arch/x86/crypto/aesni-intel.ko"}},
		{names: []string{"virtio_blk", "ext4"}, want: []string{"kernel/drivers/virtio/virtio_ring.ko", "kernel/drivers/virtio/virtio.ko", "kernel/drivers/block/virtio_blk.ko"}},
		{names: []string{"nosuch"}, wantErr: "not in modules.dep"},
		{names: []string{"a"}, wantErr: "dependency cycle"},
	}
	for _, c := range cases {
		got, err := m.Order(c.names)
		if c.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), c.wantErr) {
				t.Errorf("Order(%v): got error %v, want one containing %q", c.names, err, c.wantErr)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(got, c.want) {
			t.Errorf("Order(%v): got %v, %v; want %v", c.names, got, err, c.want)
		}
	}
}

func TestParseModuleDepsRejectsGarbage(t *testing.T) {
	if _, err := ParseModuleDeps(strings.NewReader("no colon here\n"), nil); err == nil {
		t.Fatal("got nil error for a line without a colon")
	}
}
