package luks

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"simplecloud/luks/dm"
)

func TestWriteStatus(t *testing.T) {
	sys := t.TempDir()
	for p, s := range map[string]string{
		"dev/block/7:3/uevent":          "MAJOR=7\nMINOR=3\nDEVNAME=loop3\nDEVTYPE=disk\n",
		"block/loop3/loop/backing_file": "/srv/images/disk.img\n",
		"dev/block/252:16/uevent":       "MAJOR=252\nMINOR=16\nDEVNAME=vdb\n",
	} {
		os.MkdirAll(filepath.Join(sys, filepath.Dir(p)), 0o755)
		if err := os.WriteFile(filepath.Join(sys, p), []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	key := "0000000000000000000000000000000000000000000000000000000000000000"
	crypt := func(dev, opts string) []dm.Target {
		return []dm.Target{{Length: 8192, Type: "crypt", Params: "aes-xts-plain64 " + key + " 0 " + dev + " 32768" + opts}}
	}
	cases := []struct {
		name  string
		info  dm.Info
		table []dm.Target
		want  string
	}{
		{"loop, discards, 4096-byte sectors, in use",
			dm.Info{UUID: "CRYPT-LUKS2-0ca7e5c43f5e4b0e9a435a1e0c3b2d11-ours", OpenCount: 1},
			crypt("7:3", " 2 allow_discards sector_size:4096"),
			"/dev/mapper/ours is active and is in use.\n  type:    LUKS2\n  cipher:  aes-xts-plain64\n  keysize: 256 bits\n" +
				"  key location: dm-crypt\n  device:  /dev/loop3\n  loop:    /srv/images/disk.img\n  sector size:  4096\n" +
				"  offset:  32768 sectors\n  size:    8192 sectors\n  mode:    read/write\n  flags:   discards\n"},
		{"disk, read-only, deferred remove",
			dm.Info{UUID: "CRYPT-LUKS1-0ca7e5c43f5e4b0e9a435a1e0c3b2d11-ours", ReadOnly: true, DeferredRemove: true},
			crypt("252:16", ""),
			"/dev/mapper/ours is active.\n  type:    LUKS1\n  cipher:  aes-xts-plain64\n  keysize: 256 bits\n" +
				"  key location: dm-crypt\n  device:  /dev/vdb\n  sector size:  512\n" +
				"  offset:  32768 sectors\n  size:    8192 sectors\n  mode:    readonly\n  deferred remove pending\n"},
		{"device sysfs does not know", dm.Info{}, crypt("8:99", ""),
			"/dev/mapper/ours is active.\n  type:    n/a\n  cipher:  aes-xts-plain64\n  keysize: 256 bits\n" +
				"  key location: dm-crypt\n  device:  8:99\n  sector size:  512\n" +
				"  offset:  32768 sectors\n  size:    8192 sectors\n  mode:    read/write\n"},
		{"not crypt", dm.Info{UUID: "LVM-x"}, []dm.Target{{Type: "linear", Params: "7:3 0"}},
			"/dev/mapper/ours is active.\n  type:    n/a\n  (not a single crypt target)\n"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var b bytes.Buffer
			if err := WriteStatus(&b, "/dev/mapper/ours", c.info, c.table, sys); err != nil {
				t.Fatal(err)
			}
			if b.String() != c.want {
				t.Errorf("got\n%s\nwant\n%s", b.String(), c.want)
			}
		})
	}
}
