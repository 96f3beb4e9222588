package provision

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"simplecloud/luks"
)

// scriptedPrompt answers with the passphrases in order, then cancels.
type scriptedPrompt struct {
	answers []string
	asked   int
	lasts   []error
}

func (p *scriptedPrompt) Passphrase(ctx context.Context, attempt int, last error) ([]byte, error) {
	p.asked++
	p.lasts = append(p.lasts, last)
	if attempt != p.asked {
		return nil, errors.New("attempts out of order")
	}
	if len(p.answers) == 0 {
		return nil, ErrCancelled
	}
	a := p.answers[0]
	p.answers = p.answers[1:]
	return []byte(a), nil
}

// installedSystem formats the test disk (whole-disk) with passphrase "pw"
// and returns a config for it, the volume closed again.
func installedSystem(t *testing.T) (*System, *Config, *fileMapper, *fakeMounter) {
	t.Helper()
	sys, d, fm, mnt := testSystem(t, 32<<20)
	os.MkdirAll(filepath.Join(sys.Sys, "class", "block", "vdb"), 0o755)
	os.MkdirAll(filepath.Join(sys.Sys, "class", "block", "vda"), 0o755)
	os.WriteFile(filepath.Join(sys.Dev, "vda"), make([]byte, 1<<20), 0o644) // not LUKS
	p, err := NewPlan(Options{WholeDisk: true, PBKDF: fastKDF, Mount: filepath.Join(t.TempDir(), "data")}, d, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	in := &Installer{Sys: *sys}
	if _, err := in.Apply(context.Background(), p, Secrets{Passphrase: []byte("pw")}, nil); err != nil {
		t.Fatal(err)
	}
	cfg, err := LoadConfig(sys.ConfigPath())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sys.Lock(cfg); err != nil {
		t.Fatal(err)
	}
	sys.E2fsck = "/bin/true" // the file standing in for the mapping holds no filesystem
	return sys, cfg, fm, mnt
}

func TestUnlockTries(t *testing.T) {
	sys, cfg, fm, mnt := installedSystem(t)
	p := &scriptedPrompt{answers: []string{"wrong", "pw"}}
	res, err := sys.Unlock(context.Background(), cfg, nil, p, 3)
	if err != nil {
		t.Fatal(err)
	}
	if p.asked != 2 || p.lasts[0] != nil || !errors.Is(p.lasts[1], luks.ErrWrongKey) {
		t.Errorf("got %d prompts with last errors %v; want 2, the second told of a wrong key", p.asked, p.lasts)
	}
	if res.Device != filepath.Join(sys.Dev, "vdb") || res.Slot != 0 || fm.created[cfg.Volume.Name].Device != res.Device {
		t.Errorf("got result %+v, mapping %+v", res, fm.created[cfg.Volume.Name])
	}
	if mnt.mounted[cfg.Volume.Mount] == "" {
		t.Error("not mounted")
	}
	if got, want := mnt.flags[cfg.Volume.Mount], uintptr(unix.MS_NOSUID|unix.MS_NODEV); got != want {
		t.Errorf("got mount flags %#x, want nosuid,nodev (%#x)", got, want)
	}
	// Already open: reported, nothing asked.
	os.WriteFile(filepath.Join(sys.Proc, "self", "mounts"), []byte("/dev/mapper/simplecloud "+cfg.Volume.Mount+" ext4 rw 0 0\n"), 0o644)
	p = &scriptedPrompt{}
	if _, err := sys.Unlock(context.Background(), cfg, nil, p, 3); !errors.Is(err, ErrAlreadyOpen) || p.asked != 0 {
		t.Errorf("second unlock: got %v after %d prompts, want ErrAlreadyOpen without asking", err, p.asked)
	}
	os.WriteFile(filepath.Join(sys.Proc, "self", "mounts"), nil, 0o644)
	if _, err := sys.Lock(cfg); err != nil {
		t.Fatal(err)
	}
	if _, err := sys.Lock(cfg); !errors.Is(err, ErrNotOpen) {
		t.Errorf("lock of a closed volume: got %v, want ErrNotOpen", err)
	}

	// All tries wrong.
	p = &scriptedPrompt{answers: []string{"a", "b", "c", "pw"}}
	if _, err := sys.Unlock(context.Background(), cfg, nil, p, 3); !errors.Is(err, luks.ErrWrongKey) || p.asked != 3 {
		t.Errorf("got %v after %d prompts, want ErrWrongKey after 3", err, p.asked)
	}
	// A key file opens without asking; a wrong one fails at once.
	if _, err := sys.Unlock(context.Background(), cfg, []byte("nope"), nil, 3); !errors.Is(err, luks.ErrWrongKey) {
		t.Errorf("wrong key file: got %v", err)
	}
	if _, err := sys.Unlock(context.Background(), cfg, []byte("pw"), nil, 3); err != nil {
		t.Errorf("key file: %v", err)
	}
}

func TestUnlockMissingDisk(t *testing.T) {
	sys, cfg, _, _ := installedSystem(t)
	other := *cfg
	other.Volume.UUID = luks.NewUUID()
	if _, err := sys.Unlock(context.Background(), &other, []byte("pw"), nil, 1); !errors.Is(err, ErrMissingDisk) {
		t.Errorf("got %v, want ErrMissingDisk", err)
	}
	// A clone of the disk makes the UUID ambiguous.
	b, _ := os.ReadFile(filepath.Join(sys.Dev, "vdb"))
	os.WriteFile(filepath.Join(sys.Dev, "vdc"), b, 0o644)
	os.MkdirAll(filepath.Join(sys.Sys, "class", "block", "vdc"), 0o755)
	if _, err := sys.FindVolume(cfg.Volume.UUID); err == nil {
		t.Error("two disks with one UUID: got no error")
	}
}

func TestUnlockResultString(t *testing.T) {
	for _, c := range []struct {
		r    UnlockResult
		want string
	}{
		{UnlockResult{Device: "/dev/vdb1", Slot: 1, Mapper: "/dev/mapper/simplecloud", Mount: "/srv/simplecloud", Handoff: "started simplecloud-serve.service"},
			"Unlocked /dev/vdb1 (keyslot 1) as /dev/mapper/simplecloud, mounted at /srv/simplecloud.\nstarted simplecloud-serve.service\n"},
		{UnlockResult{AlreadyOpen: true, Mount: "/srv/simplecloud", Slot: -1},
			"The data volume was already open; it is mounted at /srv/simplecloud.\n"},
	} {
		if got := c.r.String(); got != c.want {
			t.Errorf("got %q, want %q", got, c.want)
		}
	}
}

// TestAdminGroup: [unlock] admin_group is read, and Marshal leaves it out
// when unset (the default applies).
func TestAdminGroup(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "simplecloud.toml")
	text := "[volume]\nuuid = \"u\"\nname = \"n\"\nmount = \"/srv/x\"\n[unlock]\ntries = 2\nadmin_group = \"wheel\"\n"
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	c, err := LoadConfig(p)
	if err != nil || c.Unlock.AdminGroup != "wheel" {
		t.Fatalf("got %+v, %v; want admin_group wheel", c, err)
	}
	c.Unlock.AdminGroup = ""
	b, err := c.Marshal()
	if err != nil || strings.Contains(string(b), "admin_group") {
		t.Errorf("got %s, %v; want no admin_group when unset", b, err)
	}
}
