package luks

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"simplecloud/internal/testutil"
)

// TestOracleBackupRestore: our backup restores with cryptsetup, and
// cryptsetup's backup restores with us.
func TestOracleBackupRestore(t *testing.T) {
	o := newOracle(t)
	kf := o.keyFile("pw")
	img := o.image("a.img", 20<<20)
	f := openRW(t, img)
	h, vk, err := Format(f, FormatOptions{PBKDF: fastPBKDF2, DigestIterations: 1000}, []byte("pw"))
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := h.Backup(f, &buf); err != nil {
		t.Fatal(err)
	}
	if uint64(buf.Len()) != 16<<20 {
		t.Fatalf("backup is %d bytes, want 16 MiB", buf.Len())
	}
	ours := filepath.Join(o.dir, "ours.bak")
	os.WriteFile(ours, buf.Bytes(), 0o600)
	blank := o.image("blank.img", 20<<20)
	// cryptsetup restores only over a LUKS device.
	o.must("luksFormat", "--batch-mode", "--key-file", o.keyFile("other"), "--pbkdf", "pbkdf2", "--pbkdf-force-iterations", "1000", blank)
	o.must("luksHeaderRestore", "--batch-mode", "--header-backup-file", ours, blank)
	if got := o.volumeKey(blank, kf); !bytes.Equal(got, vk) {
		t.Fatal("volume key after cryptsetup restored our backup differs")
	}

	theirs := filepath.Join(o.dir, "theirs.bak")
	o.must("luksHeaderBackup", "--header-backup-file", theirs, blank)
	data, _ := os.ReadFile(theirs)
	if !bytes.Equal(data, buf.Bytes()[:len(data)]) && len(data) != buf.Len() {
		t.Logf("cryptsetup backup is %d bytes", len(data))
	}
	target := o.image("target.img", 20<<20)
	tf := openRW(t, target)
	if err := Restore(tf, data, 20<<20); err != nil {
		t.Fatal(err)
	}
	h2 := readHeader(t, tf)
	if got, _, err := h2.Unlock(tf, []byte("pw"), AnySlot); err != nil || !bytes.Equal(got, vk) {
		t.Fatalf("unlock after restoring cryptsetup's backup: %v", err)
	}
	if !o.testOpen(target, kf, -1) {
		t.Fatal("cryptsetup does not open the restored header")
	}
	if err := Restore(tf, data[:4096], 20<<20); err == nil {
		t.Fatal("restoring a truncated backup succeeded")
	}
}

// TestOracleLockBlocksCryptsetup: while we hold the exclusive metadata lock
// on an image file, cryptsetup waits for it.
func TestOracleLockBlocksCryptsetup(t *testing.T) {
	o := newOracle(t)
	img := o.image("l.img", 20<<20)
	f := openRW(t, img)
	if _, _, err := Format(f, FormatOptions{PBKDF: fastPBKDF2, DigestIterations: 1000}, []byte("pw")); err != nil {
		t.Fatal(err)
	}
	lockBlocksCryptsetup(t, o, img, img)
}

// TestOracleLockBlockDevice: on a block device (a loop device here) the
// lock is LockDir/L_<major>:<minor>, the file cryptsetup locks too.
func TestOracleLockBlockDevice(t *testing.T) {
	o := newOracle(t)
	img := o.image("lb.img", 20<<20)
	f := openRW(t, img)
	if _, _, err := Format(f, FormatOptions{PBKDF: fastPBKDF2, DigestIterations: 1000}, []byte("pw")); err != nil {
		t.Fatal(err)
	}
	needTool(t, "losetup")
	loop := testutil.AttachLoop(t, img)
	var st syscall.Stat_t
	if err := syscall.Stat(loop, &st); err != nil {
		t.Fatal(err)
	}
	lockFile := filepath.Join(LockDir, fmt.Sprintf("L_%d:%d", unix.Major(st.Rdev), unix.Minor(st.Rdev)))
	lockBlocksCryptsetup(t, o, loop, lockFile)
}

// lockBlocksCryptsetup takes our write lock on dev, checks that cryptsetup
// luksDump blocks on lockFile until we release it.
func lockBlocksCryptsetup(t *testing.T, o *oracle, dev, lockFile string) {
	t.Helper()
	d, err := OpenDevice(dev, true)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if err := d.Lock(true); err != nil {
		t.Fatal(err)
	}
	var st syscall.Stat_t
	if err := syscall.Stat(lockFile, &st); err != nil {
		t.Fatalf("lock file: %v", err)
	}
	cmd := exec.Command(o.bin, "luksDump", dev)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	// /proc/locks lists a blocked flock request as "N: -> FLOCK ... <pid> <dev>:<inode> ...".
	testutil.Eventually(t, 20*time.Second, func() error {
		select {
		case err := <-exited:
			t.Fatalf("cryptsetup finished (%v) while we held the write lock:\n%s", err, out.String())
		default:
		}
		b, _ := os.ReadFile("/proc/locks")
		for _, l := range strings.Split(string(b), "\n") {
			if strings.Contains(l, "-> FLOCK") && strings.Contains(l, " "+strconv.Itoa(cmd.Process.Pid)+" ") &&
				strings.Contains(l, ":"+strconv.FormatUint(st.Ino, 10)+" ") {
				return nil
			}
		}
		return fmt.Errorf("cryptsetup never waited for our lock; /proc/locks:\n%s", b)
	})
	d.Unlock()
	select {
	case err := <-exited:
		if err != nil {
			t.Fatalf("cryptsetup luksDump after we released the lock: %v\n%s", err, out.String())
		}
	case <-time.After(20 * time.Second):
		t.Fatal("cryptsetup did not finish after we released the lock")
	}
}

// TestAttachLoop: an image attached for opening reads the same through the
// loop device and detaches itself when the last user closes it.
func TestAttachLoop(t *testing.T) {
	o := newOracle(t)
	img := o.image("loop.img", 20<<20)
	f := openRW(t, img)
	_, vk, err := Format(f, FormatOptions{PBKDF: fastPBKDF2, DigestIterations: 1000}, []byte("pw"))
	if err != nil {
		t.Fatal(err)
	}
	loop, hold, err := AttachLoop(img, true)
	if err != nil {
		t.Skipf("no loop devices here: %v", err)
	}
	d, err := OpenDevice(loop, false)
	if err != nil {
		hold.Close()
		t.Fatal(err)
	}
	h, err := ReadHeader(d)
	if err == nil {
		var got []byte
		got, _, err = h.Unlock(d, []byte("pw"), AnySlot)
		if err == nil && !bytes.Equal(got, vk) {
			err = fmt.Errorf("wrong key through %s", loop)
		}
	}
	d.Close()
	hold.Close()
	if err != nil {
		t.Fatal(err)
	}
	backing := "/sys/block/" + filepath.Base(loop) + "/loop/backing_file"
	testutil.Eventually(t, 10*time.Second, func() error {
		if _, err := os.Stat(backing); !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("%s still attached after its last user closed it (%s: %v)", loop, backing, err)
		}
		return nil
	})
}
