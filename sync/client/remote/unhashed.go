package remote

import (
	"fmt"
	"os"
	"slices"

	"golang.org/x/sys/unix"

	"simplecloud/sync/proto"
)

// Unhashed reports whether the server takes uploads without a hash
// (proto.CapUnhashed).
func (c *Client) Unhashed() bool { return slices.Contains(c.w.Caps, proto.CapUnhashed) }

// unchanged checks that src, read whole for an unhashed upload, is still
// the file whose fstat before reading was before: no hash will show a
// change made while it was read, so the size, mtime, ctime and inode must
// (any write, truncate or utimes sets ctime), as the scanner checks its
// own reads (sync/scan's package doc; a write within the same clock tick
// as the one before it is what neither can see, and the client records no
// hash cache for such a recent file, so its next scan reads it again).
func unchanged(src *os.File, before *unix.Stat_t) error {
	var after unix.Stat_t
	if err := unix.Fstat(int(src.Fd()), &after); err != nil {
		return fmt.Errorf("stat after reading: %w", err)
	}
	if after.Size != before.Size || after.Mtim != before.Mtim || after.Ctim != before.Ctim || after.Ino != before.Ino || after.Dev != before.Dev {
		return ErrSourceChanged
	}
	return nil
}
