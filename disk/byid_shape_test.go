package disk

import "testing"

func TestNameShapes(t *testing.T) {
	for _, c := range []struct {
		s, pattern string
		want       bool
	}{
		{"0000:00:1f.2", "xxxx:xx:xx.x", true},
		{"0000:00:1F.2", "xxxx:xx:xx.x", false},
		{"0000:00:1f.23", "xxxx:xx:xx.x", false},
		{"pci0000:00", "xxxx:xx:xx.x", false},
		{"2:0:0:0", "n:n:n:n", true},
		{"12:10:0:255", "n:n:n:n", true},
		{"2:0:0", "n:n:n:n", false},
		{"2:0:0:x", "n:n:n:n", false},
		{"host2", "n:n:n:n", false},
	} {
		if got := matchShape(c.s, c.pattern); got != c.want {
			t.Errorf("matchShape(%q, %q) = %v, want %v", c.s, c.pattern, got, c.want)
		}
	}
	for n, want := range map[string]bool{
		"ata-QEMU_HARDDISK_QM00001-part1": true, "nvme-eui.1234-part12": true,
		"ata-QEMU_HARDDISK_QM00001": false, "usb-part-x": false, "wwn-0x5000-part": false,
	} {
		if got := isPartLink(n); got != want {
			t.Errorf("isPartLink(%q) = %v, want %v", n, got, want)
		}
	}
}
