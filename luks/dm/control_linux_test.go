package dm

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"

	"simplecloud/internal/testutil"
)

// stubKernel answers ioctls the way device-mapper does, for the parts of
// Control that the VM tests cannot force: buffer growth, the zeroing of
// every buffer, and the undoing of a half-made device. It keeps every
// buffer it was given, to look at them after the call returned.
type stubKernel struct {
	devs     map[string]uint64
	cmds     []uint
	bufs     [][]byte
	loadErr  error  // what DM_TABLE_LOAD returns
	loadSeen []byte // the table line as the kernel saw it
	listNeed int    // payload bytes DM_LIST_DEVICES needs
}

func (k *stubKernel) sys(cmd uint, buf []byte) error {
	k.cmds = append(k.cmds, cmd)
	k.bufs = append(k.bufs, buf)
	h, err := parseHeader(buf)
	if err != nil {
		return err
	}
	h.Version = [3]uint32{4, 47, 0}
	dev, exists := k.devs[h.Name]
	switch cmd {
	case unix.DM_DEV_CREATE:
		if exists {
			return unix.EBUSY
		}
		dev = encodeDev(Dev{253, uint32(len(k.devs))})
		k.devs[h.Name] = dev
	case unix.DM_TABLE_LOAD:
		k.loadSeen = bytes.Clone(buf[headerSize+specSize : headerSize+specSize+200])
		if k.loadErr != nil {
			return k.loadErr
		}
	case unix.DM_DEV_STATUS, unix.DM_DEV_SUSPEND:
		if !exists {
			return unix.ENXIO
		}
	case unix.DM_DEV_REMOVE:
		if !exists {
			return unix.ENXIO
		}
		delete(k.devs, h.Name)
	case unix.DM_LIST_DEVICES:
		if len(buf)-headerSize < k.listNeed {
			h.Flags |= flagBufferFull
			break
		}
		ne.PutUint64(buf[headerSize:], 0xfd00)
		copy(buf[headerSize+nlName:], "only")
		h.DataSize = uint32(headerSize + k.listNeed)
		return h.put(buf)
	}
	h.Dev = dev
	h.DataSize = offData
	return h.put(buf)
}

func newStub() (*Control, *stubKernel) {
	k := &stubKernel{devs: map[string]uint64{}}
	return &Control{fd: -1, dir: "/nonexistent", sys: k.sys}, k
}

func allZero(b []byte) bool { return len(bytes.Trim(b, "\x00")) == 0 }

func TestRunGrowsTheBuffer(t *testing.T) {
	c, k := newStub()
	k.listNeed = 100_000 // more than 16 KiB, 32 KiB and 64 KiB
	devs, err := c.List()
	if err != nil {
		t.Fatal(err)
	}
	if len(devs) != 1 || devs[0].Name != "only" {
		t.Errorf("got %+v, want the one device", devs)
	}
	var sizes []int
	for _, b := range k.bufs {
		sizes = append(sizes, len(b))
	}
	if want := []int{16 << 10, 32 << 10, 64 << 10, 128 << 10}; fmt.Sprint(sizes) != fmt.Sprint(want) {
		t.Errorf("buffer sizes %v, want %v", sizes, want)
	}
	for i, b := range k.bufs {
		if !allZero(b) {
			t.Errorf("buffer %d not zeroed after the call", i)
		}
	}

	k.listNeed = 64 << 20
	if _, err := c.List(); err == nil {
		t.Error("a reply that never fits was accepted")
	}
}

func TestCreateCryptZeroesAndUndoes(t *testing.T) {
	c, k := newStub()
	k.loadErr = unix.EINVAL
	key := bytes.Repeat([]byte{0xab}, 32)
	target := CryptTarget{Cipher: "aes-xts-plain64", Key: key, Length: 8, Device: "8:16"}
	err := c.CreateCrypt("vol", "CRYPT-PLAIN-vol", target)
	if !errors.Is(err, unix.EINVAL) {
		t.Fatalf("got %v, want the load's EINVAL", err)
	}
	if bytes.Contains([]byte(err.Error()), []byte("abab")) {
		t.Errorf("the error shows the key: %v", err)
	}
	if !bytes.HasPrefix(k.loadSeen, []byte("aes-xts-plain64 "+string(bytes.Repeat([]byte("ab"), 32))+" 0 8:16 0\x00")) {
		t.Errorf("the kernel saw the table line %q", k.loadSeen)
	}
	want := []uint{unix.DM_DEV_CREATE, unix.DM_TABLE_LOAD, unix.DM_DEV_STATUS, unix.DM_DEV_REMOVE}
	if fmt.Sprint(k.cmds) != fmt.Sprint(want) {
		t.Errorf("ioctls %x, want %x (create, load, then undo)", k.cmds, want)
	}
	if len(k.devs) != 0 {
		t.Errorf("devices left behind: %v", k.devs)
	}
	for i, b := range k.bufs {
		if !allZero(b) {
			t.Errorf("buffer of ioctl %d (%x) not zeroed after the call", i, k.cmds[i])
		}
	}
	if !bytes.Equal(key, bytes.Repeat([]byte{0xab}, 32)) {
		t.Error("CreateCrypt changed the caller's key")
	}

	k.devs["taken"] = 1
	if err := c.CreateCrypt("taken", "", target); !errors.Is(err, ErrExists) {
		t.Errorf("create over an existing name: got %v, want ErrExists", err)
	}
	if err := c.Remove("absent"); !errors.Is(err, ErrNotFound) {
		t.Errorf("remove of an absent device: got %v, want ErrNotFound", err)
	}
}

// TestCreateCryptMakesAndRemovesTheNode needs root for mknod.
func TestCreateCryptMakesAndRemovesTheNode(t *testing.T) {
	testutil.NeedRoot(t) // mknod
	c, k := newStub()
	c.dir = t.TempDir()
	node := filepath.Join(c.dir, "vol")
	// A stale node of an earlier device of that name is replaced.
	if err := unix.Mknod(node, unix.S_IFBLK|0o600, int(unix.Mkdev(253, 99))); err != nil {
		t.Fatal(err)
	}
	target := CryptTarget{Cipher: "aes-xts-plain64", Key: []byte{1}, Length: 8, Device: "8:16"}
	if err := c.CreateCrypt("vol", "", target); err != nil {
		t.Fatal(err)
	}
	var st unix.Stat_t
	if err := unix.Stat(node, &st); err != nil {
		t.Fatal(err)
	}
	if want := unix.Mkdev(253, 0); st.Mode&unix.S_IFMT != unix.S_IFBLK || uint64(st.Rdev) != want || st.Mode&0o777 != 0o600 {
		t.Errorf("node mode %o rdev %#x, want block 600 rdev %#x", st.Mode, st.Rdev, want)
	}
	if err := c.Remove("vol"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(node); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("node still there after Remove: %v", err)
	}
	if len(k.devs) != 0 {
		t.Errorf("devices left: %v", k.devs)
	}

	// Something else in the way is never removed: the create fails and
	// is undone.
	if err := os.WriteFile(node, []byte("not a node"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := c.CreateCrypt("vol", "", target); err == nil {
		t.Error("create over a regular file succeeded")
	}
	if b, _ := os.ReadFile(node); string(b) != "not a node" {
		t.Error("the regular file in the way was touched")
	}
	if len(k.devs) != 0 {
		t.Errorf("the failed create left devices: %v", k.devs)
	}
}

// TestRemovePrunesStaleNode needs root for mknod.
func TestRemovePrunesStaleNode(t *testing.T) {
	testutil.NeedRoot(t) // mknod
	c, k := newStub()
	c.dir = t.TempDir()
	k.listNeed = 24 // one entry, "only" with 253:0 (0xfd00)
	live, stale := filepath.Join(c.dir, "live"), filepath.Join(c.dir, "stale")
	for node, dev := range map[string]uint64{live: unix.Mkdev(253, 0), stale: unix.Mkdev(253, 7)} {
		if err := unix.Mknod(node, unix.S_IFBLK|0o600, int(dev)); err != nil {
			t.Fatal(err)
		}
	}
	for _, name := range []string{"live", "stale"} {
		if err := c.RemoveDeferred(name); !errors.Is(err, ErrNotFound) {
			t.Errorf("remove %s: got %v, want ErrNotFound", name, err)
		}
	}
	if _, err := os.Lstat(live); err != nil {
		t.Errorf("the node of a live device was removed: %v", err)
	}
	if _, err := os.Lstat(stale); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the stale node is still there: %v", err)
	}
}
