package luks

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"simplecloud/luks/dm"
)

// WriteStatus prints an active device-mapper mapping as cryptsetup status
// does: whether it is in use, its type from the DM UUID, and for a single
// crypt target the cipher, key size, device (a loop device with its backing
// file), sector size, offset, size, mode and flags. path is the mapping's
// node, info and table what device-mapper says of it; sysDir is where sysfs
// is mounted, to name the device. A key in the table is cleared.
func WriteStatus(w io.Writer, path string, info dm.Info, table []dm.Target, sysDir string) error {
	use := ""
	if info.OpenCount > 0 {
		use = " and is in use"
	}
	fmt.Fprintf(w, "%s is active%s.\n", path, use)
	typ := "n/a"
	if p := strings.SplitN(info.UUID, "-", 3); len(p) >= 2 && p[0] == "CRYPT" {
		typ = p[1]
	}
	fmt.Fprintf(w, "  type:    %s\n", typ)
	if len(table) != 1 || table[0].Type != "crypt" {
		_, err := fmt.Fprintf(w, "  (not a single crypt target)\n")
		return err
	}
	t, err := dm.ParseCrypt(table[0])
	if err != nil {
		return err
	}
	clear(t.Key)
	fmt.Fprintf(w, "  cipher:  %s\n  keysize: %d bits\n  key location: dm-crypt\n", t.Cipher, len(t.Key)*8)
	dev := devicePath(sysDir, t.Device)
	fmt.Fprintf(w, "  device:  %s\n", dev)
	loop := filepath.Join(sysDir, "block", strings.TrimPrefix(dev, "/dev/"), "loop", "backing_file")
	if b, err := os.ReadFile(loop); err == nil {
		fmt.Fprintf(w, "  loop:    %s\n", strings.TrimSpace(string(b)))
	}
	fmt.Fprintf(w, "  sector size:  %d\n", max(t.SectorSize, 512))
	fmt.Fprintf(w, "  offset:  %d sectors\n  size:    %d sectors\n", t.Offset, table[0].Length)
	mode := "read/write"
	if info.ReadOnly {
		mode = "readonly"
	}
	fmt.Fprintf(w, "  mode:    %s\n", mode)
	if t.AllowDiscards {
		fmt.Fprintf(w, "  flags:   discards\n")
	}
	if info.DeferredRemove {
		fmt.Fprintf(w, "  deferred remove pending\n")
	}
	return nil
}

// devicePath turns "MAJOR:MINOR" into /dev/NAME when sysfs knows it.
func devicePath(sysDir, dev string) string {
	b, err := os.ReadFile(filepath.Join(sysDir, "dev", "block", dev, "uevent"))
	if err != nil {
		return dev
	}
	for _, l := range strings.Split(string(b), "\n") {
		if n, ok := strings.CutPrefix(l, "DEVNAME="); ok {
			return "/dev/" + n
		}
	}
	return dev
}
