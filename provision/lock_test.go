package provision

import (
	"context"
	"crypto/sha256"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

func sumFile(t *testing.T, path string) [32]byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return sha256.Sum256(b)
}

// TestPlanLock plans the lock of an open, mounted volume: the plan names
// the unmount and the mapping to close, and nothing changes (the disk, the
// mapping, the mount) until Lock carries it out.
func TestPlanLock(t *testing.T) {
	sys, cfg, fm, mnt := installedSystem(t)
	if _, err := sys.Unlock(context.Background(), cfg, []byte("pw"), nil, 1); err != nil {
		t.Fatal(err)
	}
	mounts := filepath.Join(sys.Proc, "self", "mounts")
	os.WriteFile(mounts, []byte("/dev/mapper/simplecloud "+cfg.Volume.Mount+" ext4 rw 0 0\n"), 0o644)
	disk := filepath.Join(sys.Dev, "vdb")
	mapping := filepath.Join(sys.Dev, "mapper", cfg.Volume.Name)
	diskSum, mapSum := sumFile(t, disk), sumFile(t, mapping)
	mnt.log, fm.removed = nil, nil

	p, err := sys.PlanLock(cfg)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"unmount " + cfg.Volume.Mount, "close " + mapping + " (remove the dm-crypt mapping)"}
	if !p.Unmount || p.Mapper != mapping || p.Name != cfg.Volume.Name || !slices.Equal(p.Steps, want) {
		t.Errorf("got plan %+v, want steps %q", p, want)
	}
	if sumFile(t, disk) != diskSum || sumFile(t, mapping) != mapSum || len(fm.removed) != 0 || len(mnt.log) != 0 ||
		mnt.mounted[cfg.Volume.Mount] == "" {
		t.Fatalf("planning changed something: removed %v, mount calls %v", fm.removed, mnt.log)
	}

	msg, err := sys.Lock(cfg)
	if err != nil || msg != "unmounted "+cfg.Volume.Mount+" and closed "+mapping {
		t.Fatalf("lock: got %q, %v", msg, err)
	}
	if !slices.Equal(fm.removed, []string{cfg.Volume.Name}) || !slices.Equal(mnt.log, []string{"umount " + cfg.Volume.Mount}) {
		t.Errorf("lock did not follow the plan: removed %v, mount calls %v", fm.removed, mnt.log)
	}
	os.WriteFile(mounts, nil, 0o644)
	if _, err := sys.PlanLock(cfg); !errors.Is(err, ErrNotOpen) {
		t.Errorf("plan for a closed volume: got %v, want ErrNotOpen", err)
	}
	if sumFile(t, disk) != diskSum {
		t.Error("the disk changed")
	}
}

func TestLockPlanString(t *testing.T) {
	p := LockPlan{Name: "data", Mapper: "/dev/mapper/data", Mount: "/srv/data", Unmount: true,
		Steps: []string{"unmount /srv/data", "close /dev/mapper/data (remove the dm-crypt mapping)"}}
	want := "dry run: lock would close the data volume data:\n  1. unmount /srv/data\n  2. close /dev/mapper/data (remove the dm-crypt mapping)\n"
	if got := p.String(); got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}
