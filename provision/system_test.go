package provision

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"simplecloud/internal/mountinfo"
	"simplecloud/internal/testutil"
)

// TestUnixMounterFlags mounts a tmpfs with the real Mounter and
// VolumeMountFlags and reads the kernel's mount table: the options must
// include nosuid and nodev.
func TestUnixMounterFlags(t *testing.T) {
	testutil.NeedRoot(t) // mount
	dir := t.TempDir()
	m := unixMounter{}
	if err := m.Mount("sc-test", dir, "tmpfs", VolumeMountFlags); err != nil {
		t.Skipf("cannot mount a tmpfs here: %v", err)
	}
	defer m.Unmount(dir)
	b, err := os.ReadFile("/proc/self/mounts")
	if err != nil {
		t.Fatal(err)
	}
	var opts string
	for _, l := range strings.Split(string(b), "\n") {
		if f := strings.Fields(l); len(f) >= 4 && mountinfo.Unescape(f[1]) == filepath.Clean(dir) {
			opts = f[3]
		}
	}
	got := map[string]bool{}
	for _, o := range strings.Split(opts, ",") {
		got[o] = true
	}
	if !got["nosuid"] || !got["nodev"] || got["noexec"] {
		t.Errorf("got mount options %q, want nosuid and nodev (and exec)", opts)
	}
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil {
		t.Fatal(err)
	}
	if st.Flags&unix.ST_NOSUID == 0 || st.Flags&unix.ST_NODEV == 0 {
		t.Errorf("got statfs flags %#x, want ST_NOSUID and ST_NODEV", st.Flags)
	}
}
