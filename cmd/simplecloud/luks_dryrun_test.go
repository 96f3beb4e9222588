package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"simplecloud/internal/testutil"
)

// dryRun runs a luks command with --dry-run and nothing on stdin (a dry run
// asks nothing): it must exit 0, print every string in want and leave the
// image's bytes as they were.
func (e *luksEnv) dryRun(want []string, args ...string) {
	e.t.Helper()
	before := fileSum(e.t, e.img)
	code, out, errs := e.sc("", append(args, "--dry-run")...)
	if code != 0 {
		e.t.Fatalf("simplecloud %s --dry-run: exit %d\n%s%s", strings.Join(args, " "), code, out, errs)
	}
	for _, w := range append(want, "dry run: luks ", "Nothing was written.") {
		if !strings.Contains(out, w) {
			e.t.Errorf("simplecloud %s --dry-run: output lacks %q:\n%s", strings.Join(args, " "), w, out)
		}
	}
	if strings.Contains(errs, "Are you sure") {
		e.t.Errorf("simplecloud %s --dry-run asked for confirmation", strings.Join(args, " "))
	}
	if fileSum(e.t, e.img) != before {
		e.t.Fatalf("simplecloud %s --dry-run changed the image", strings.Join(args, " "))
	}
}

// refused runs a luks command with --dry-run and wants the exit code and
// message the real command gives, and the image untouched.
func (e *luksEnv) refused(code int, msg string, args ...string) {
	e.t.Helper()
	before := fileSum(e.t, e.img)
	got, out, errs := e.sc("", append(args, "--dry-run")...)
	if got != code || !strings.Contains(errs, msg) || strings.Contains(out, "dry run:") {
		e.t.Errorf("simplecloud %s --dry-run: got exit %d, stdout %q, stderr %q; want %d and %q", strings.Join(args, " "), got, out, errs, code, msg)
	}
	if fileSum(e.t, e.img) != before {
		e.t.Fatalf("refused simplecloud %s --dry-run changed the image", strings.Join(args, " "))
	}
}

func TestLuksDryRunFormat(t *testing.T) {
	e := newLuksEnv(t)
	k := e.key("k", "pw")
	e.dryRun([]string{"luks format " + e.img + " would write a new LUKS2 header: aes-xts-plain64, 512-bit key, 4096-byte sectors",
		"write bytes 0-16777215 (16 MiB): header and keyslots area: zeroed",
		"write bytes 32768-290815 (252 KiB): keyslot 0 key material, encrypted under the passphrase (pbkdf2-sha256, 1000 iterations)",
		"write bytes 0-16383 (16 KiB): primary header copy", "write bytes 16384-32767 (16 KiB): secondary header copy"},
		append([]string{"luks", "format", e.img, "--key-file", k}, fastFormat...)...)
	if e.csOpens(k) {
		t.Fatal("the dry run formatted the image")
	}
	e.refused(1, "key file", append([]string{"luks", "format", e.img, "--key-file", filepath.Join(e.dir, "missing")}, fastFormat...)...)
	e.refused(1, "sector size 1000", "luks", "format", e.img, "--key-file", k, "--sector-size", "1000")
	e.refused(exitUsage, "--pbkdf", "luks", "format", e.img, "--key-file", k, "--pbkdf", "scrypt")
}

func TestLuksDryRunKeyslots(t *testing.T) {
	e := newLuksEnv(t)
	k0, k1 := e.key("k0", "zero"), e.key("k1", "one")
	e.format(k0)
	e.mustSC(append([]string{"luks", "add-key", e.img, "--key-file", k0, "--new-key-file", k1}, fastFormat...)...)
	e.dryRun([]string{"luks kill-slot " + e.img + " would remove keyslot 1",
		"write bytes 290816-548863 (252 KiB): keyslot 1 key material: overwritten with random bytes", "(seqid 3)"},
		"luks", "kill-slot", e.img, "1")
	e.dryRun([]string{"luks remove-key " + e.img + " would remove keyslot 1", "keyslot 1 key material: overwritten"},
		"luks", "remove-key", e.img, "--key-file", k1)
	e.dryRun([]string{"luks change-key " + e.img + " would replace the passphrase of keyslot 0",
		"write bytes 548864-806911 (252 KiB): keyslot 0 new key material",
		"write bytes 32768-290815 (252 KiB): keyslot 0 old key material: overwritten"},
		append([]string{"luks", "change-key", e.img, "--key-file", k0, "--new-key-file", e.key("k3", "three")}, fastFormat...)...)
	e.dryRun([]string{"luks erase " + e.img + " would remove every keyslot",
		"keyslot 0 key material: overwritten", "keyslot 1 key material: overwritten", "primary header copy"},
		"luks", "erase", e.img)
	if !e.csOpens(k0) || !e.csOpens(k1) {
		t.Fatal("after the dry runs cryptsetup no longer opens both keys")
	}
	wrong := e.key("w", "wrong")
	e.refused(1, "keyslot 5 is not in use", "luks", "kill-slot", e.img, "5")
	e.refused(exitAuth, "no key available", "luks", "remove-key", e.img, "--key-file", wrong)
	e.refused(exitAuth, "no key available", "luks", "change-key", e.img, "--key-file", wrong, "--new-key-file", k1)
	e.refused(1, "key file", "luks", "change-key", e.img, "--key-file", k0, "--new-key-file", filepath.Join(e.dir, "missing"))
	e.refused(exitAuth, "no key available", "luks", "kill-slot", e.img, "1", "--key-file", wrong)
	e.refused(1, "not a valid LUKS device", "luks", "erase", k0)
}

func TestLuksDryRunHeader(t *testing.T) {
	e := newLuksEnv(t)
	k := e.key("k", "pw")
	e.format(k)
	bak := filepath.Join(e.dir, "hdr.bak")
	e.mustSC("luks", "header-backup", e.img, "--header-backup-file", bak)
	e.mustSC("luks", "erase", e.img, "--batch-mode")
	e.dryRun([]string{"luks header-restore " + e.img + " would replace the header by the backup's (LUKS2, UUID ",
		"write bytes 0-16777215 (16 MiB): LUKS2 header copies and keyslots area from the backup", "backup file " + bak},
		"luks", "header-restore", e.img, "--header-backup-file", bak)
	if e.csOpens(k) {
		t.Fatal("the dry run restored the header")
	}
	e.refused(1, "header backup", "luks", "header-restore", e.img, "--header-backup-file", k)
	e.mustSC("luks", "header-restore", e.img, "--header-backup-file", bak, "--batch-mode")

	f, err := os.OpenFile(e.img, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteAt([]byte("garbage"), 4200)
	f.Close()
	e.dryRun([]string{"luks repair " + e.img + " would rewrite both header copies from the good one (primary header at offset 0",
		"write bytes 0-16383 (16 KiB): primary header copy", "write bytes 16384-32767 (16 KiB): secondary header copy"},
		"luks", "repair", e.img)
	if _, _, errs := e.sc("", "luks", "dump", e.img); !strings.Contains(errs, "repair") {
		t.Fatal("the dry run repaired the header")
	}
	e.refused(1, "not a valid LUKS device", "luks", "repair", k)
}

// TestLuksDryRunFormatLoop: format --dry-run on a loop device leaves it
// alone, and refuses it while it is mounted, as format does.
func TestLuksDryRunFormatLoop(t *testing.T) {
	e := newLuksEnv(t)
	testutil.NeedRoot(t, "losetup", "mkfs.ext4", "mount", "umount")
	dev, _ := attachLoop(t, 32<<20)
	if out, err := exec.Command("mkfs.ext4", "-q", dev).CombinedOutput(); err != nil {
		t.Fatalf("mkfs.ext4: %v: %s", err, out)
	}
	e.img = dev
	k := e.key("k", "pw")
	e.dryRun([]string{"luks format " + dev + " would write a new LUKS2 header", "header and keyslots area: zeroed"},
		append([]string{"luks", "format", dev, "--key-file", k}, fastFormat...)...)
	mnt := t.TempDir()
	// Read-only: a read-write ext4 writes to its device on its own (the
	// journal, lazy inode-table init), which the image comparison would
	// take for the dry run's doing.
	if out, err := exec.Command("mount", "-o", "ro", dev, mnt).CombinedOutput(); err != nil {
		t.Fatalf("mount: %v: %s", err, out)
	}
	defer exec.Command("umount", mnt).Run()
	e.refused(1, "is in use", append([]string{"luks", "format", dev, "--key-file", k}, fastFormat...)...)
}

// TestLuksDryRunLUKS1: a LUKS1 header is read-only here; remove-key and
// kill-slot refuse it, with or without --dry-run.
func TestLuksDryRunLUKS1(t *testing.T) {
	e := newLuksEnv(t)
	k := e.key("k", "old volume")
	if out, err := exec.Command(e.cs, "luksFormat", "--batch-mode", "--type", "luks1", "--key-file", k,
		"--pbkdf-force-iterations", "1000", e.img).CombinedOutput(); err != nil {
		t.Fatalf("cryptsetup luksFormat --type luks1: %v\n%s", err, out)
	}
	e.refused(1, "read-only", "luks", "remove-key", e.img, "--key-file", k)
	e.refused(1, "read-only", "luks", "kill-slot", e.img, "0")
	e.refused(1, "read-only", "luks", "erase", e.img)
	if code, _, errs := e.sc("", "luks", "remove-key", e.img, "--key-file", k); code != 1 || !strings.Contains(errs, "read-only") {
		t.Errorf("remove-key on LUKS1: got exit %d, stderr %q; want 1 and read-only", code, errs)
	}
	if !e.csOpens(k) {
		t.Fatal("the LUKS1 key no longer opens")
	}
}
