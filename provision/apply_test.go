package provision

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"simplecloud/disk"
	"simplecloud/disk/wipe"
	"simplecloud/luks"
	"simplecloud/luks/dm"
)

// fileMapper stands in for device-mapper on a machine without it: a
// mapping is a regular file of the mapping's size in dir, so that the real
// mke2fs and dumpe2fs run on it.
type fileMapper struct {
	dir     string
	created map[string]dm.CryptTarget
	uuids   map[string]string
	removed []string
	failOn  string // CreateCrypt fails for this name
}

func newFileMapper(dir string) *fileMapper {
	return &fileMapper{dir: dir, created: map[string]dm.CryptTarget{}, uuids: map[string]string{}}
}

func (m *fileMapper) CreateCrypt(name, uuid string, t dm.CryptTarget) error {
	if name == m.failOn {
		return errors.New("injected failure")
	}
	if _, ok := m.created[name]; ok {
		return dm.ErrExists
	}
	f, err := os.Create(filepath.Join(m.dir, name))
	if err != nil {
		return err
	}
	defer f.Close()
	if err := f.Truncate(int64(t.Length) * 512); err != nil {
		return err
	}
	t.Key = append([]byte(nil), t.Key...) // the caller clears its copy
	m.created[name], m.uuids[name] = t, uuid
	return nil
}

func (m *fileMapper) Info(name string) (dm.Info, error) {
	if _, ok := m.created[name]; !ok {
		return dm.Info{}, nil
	}
	return dm.Info{Name: name, UUID: m.uuids[name], Exists: true}, nil
}

func (m *fileMapper) Remove(name string) error {
	if _, ok := m.created[name]; !ok {
		return dm.ErrNotFound
	}
	delete(m.created, name)
	m.removed = append(m.removed, name)
	return os.Remove(filepath.Join(m.dir, name))
}

type fakeMounter struct {
	mounted map[string]string
	flags   map[string]uintptr // of each mounted target
	log     []string
}

func (f *fakeMounter) Mount(src, target, fstype string, flags uintptr) error {
	f.mounted[target] = src
	if f.flags == nil {
		f.flags = map[string]uintptr{}
	}
	f.flags[target] = flags
	f.log = append(f.log, "mount "+src+" "+target+" "+fstype)
	return nil
}

func (f *fakeMounter) Unmount(target string) error {
	delete(f.mounted, target)
	f.log = append(f.log, "umount "+target)
	return nil
}

// testSystem is a System in a temp dir with an image file as the disk.
func testSystem(t *testing.T, size int64) (*System, disk.Disk, *fileMapper, *fakeMounter) {
	t.Helper()
	root := t.TempDir()
	for _, d := range []string{"etc", "dev/mapper", "sys", "run", "proc/self"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	os.WriteFile(filepath.Join(root, "proc/self/mounts"), nil, 0o644)
	img := filepath.Join(root, "dev", "vdb")
	if err := os.WriteFile(img, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(img, size); err != nil {
		t.Fatal(err)
	}
	d := blankDisk()
	d.SizeBytes = uint64(size)
	fm, mnt := newFileMapper(filepath.Join(root, "dev/mapper")), &fakeMounter{mounted: map[string]string{}}
	for _, p := range []string{"mke2fs", "dumpe2fs"} {
		if _, err := FindE2fsprogs(p); err != nil {
			t.Skip(err)
		}
	}
	sys := &System{
		Etc: filepath.Join(root, "etc"), Dev: filepath.Join(root, "dev"), Sys: filepath.Join(root, "sys"),
		Run: filepath.Join(root, "run"), Proc: filepath.Join(root, "proc"),
		Runner: execRunner{}, Mapper: fm, Mounter: mnt,
		Discover: func(context.Context) ([]disk.Disk, error) { return []disk.Disk{d}, nil },
	}
	return sys, d, fm, mnt
}

var fastKDF = luks.PBKDF{Type: "pbkdf2", ForceIterations: 1000}

func TestApplyWholeDisk(t *testing.T) {
	sys, d, fm, mnt := testSystem(t, 64<<20)
	o := Options{WholeDisk: true, Wipe: wipe.Zero, PBKDF: fastKDF, RecoveryKey: true, Mount: filepath.Join(t.TempDir(), "data")}
	p, err := NewPlan(o, d, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	var events []Event
	in := &Installer{Sys: *sys, Binary: "/bin/simplecloud"}
	in.Sys.Mapper = fm
	res, err := in.Apply(context.Background(), p, Secrets{Passphrase: []byte("correct horse"), RecoveryKey: []byte("recovery")}, func(e Event) { events = append(events, e) })
	if err != nil {
		t.Fatal(err)
	}
	// Every step started and finished in the plan's order.
	var done []string
	for _, e := range events {
		if e.Kind == EventDone {
			done = append(done, string(e.Step))
		}
		if e.Kind == EventFailed {
			t.Errorf("got failure event %v", e)
		}
	}
	if got, want := strings.Join(done, ","), stepNames(p); got != want {
		t.Errorf("got done %s, want %s", got, want)
	}
	// The header opens with both keys; the mapping skips it.
	img := filepath.Join(sys.Dev, "vdb")
	f, _ := os.Open(img)
	defer f.Close()
	h, err := luks.ReadHeader(f)
	if err != nil {
		t.Fatal(err)
	}
	if h.UUID != res.UUID || h.Label != DefaultLabel || h.Subsystem != Subsystem {
		t.Errorf("got header uuid %s label %s subsystem %s, want %s %s %s", h.UUID, h.Label, h.Subsystem, res.UUID, DefaultLabel, Subsystem)
	}
	for _, pass := range []string{"correct horse", "recovery"} {
		if _, _, err := h.Unlock(f, []byte(pass), luks.AnySlot); err != nil {
			t.Errorf("unlock with %q: %v", pass, err)
		}
	}
	ct := fm.created[DefaultName]
	if ct.Offset != 16<<20/512 || ct.Length != (64-16)<<20/512 || ct.Device != img || ct.Cipher != "aes-xts-plain64" {
		t.Errorf("got crypt target %+v, want offset 32768, length 98304 of %s", ct, img)
	}
	if want := luks.DMUUID(2, res.UUID, DefaultName); fm.uuids[DefaultName] != want {
		t.Errorf("got dm uuid %s, want %s", fm.uuids[DefaultName], want)
	}
	if ok, _ := h.VerifyVolumeKey(ct.Key); !ok {
		t.Error("the mapping's key is not the volume key")
	}
	if res.Ext4.ReservedBlocks != 0 || res.Ext4.Label != DefaultLabel {
		t.Errorf("got ext4 %+v, want 0 reserved blocks and our label", res.Ext4)
	}
	if mnt.mounted[o.Mount] != filepath.Join(sys.Dev, "mapper", DefaultName) {
		t.Errorf("got mounts %v, want the mapping at %s", mnt.mounted, o.Mount)
	}
	if got, want := mnt.flags[o.Mount], uintptr(unix.MS_NOSUID|unix.MS_NODEV); got != want {
		t.Errorf("got mount flags %#x, want nosuid,nodev (%#x)", got, want)
	}
	cfg, err := LoadConfig(sys.ConfigPath())
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Volume.UUID != res.UUID || !cfg.Volume.WholeDisk || cfg.Volume.Mount != o.Mount {
		t.Errorf("got config %+v", cfg.Volume)
	}
	if _, err := os.Stat(sys.StatePath()); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("state file left after a finished install: %v", err)
	}
	for _, u := range []string{UnlockUnit, ServeUnit} {
		// The header lets the package's purge tell install's units apart.
		if b, err := os.ReadFile(filepath.Join(sys.UnitDir(), u)); err != nil {
			t.Error(err)
		} else if !strings.HasPrefix(string(b), InstallHeader) {
			t.Errorf("%s starts %q, want %q", u, b[:min(len(b), 40)], InstallHeader)
		}
	}
	// cryptsetup, the reference, reads the header.
	out, err := runTool(t, "cryptsetup", "luksDump", img)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Version:       \t2", "UUID:          \t" + res.UUID, "Label:         \tsimplecloud", "0: luks2", "1: luks2"} {
		if !strings.Contains(out, want) {
			t.Errorf("luksDump lacks %q:\n%s", want, out)
		}
	}

	// A second run on the same disk refuses: installed.
	d.Signatures = []disk.Signature{{Type: "luks2", UUID: res.UUID, Label: DefaultLabel}}
	if _, err := NewPlan(o, d, cfg, nil); !errors.As(err, new(*InstalledError)) {
		t.Errorf("re-run: got %v, want an InstalledError", err)
	}
}

func TestApplyFailureClosesAndKeepsState(t *testing.T) {
	sys, d, fm, mnt := testSystem(t, 32<<20)
	sys.Mke2fs = "/bin/false" // mkfs fails after the volume is open
	o := Options{WholeDisk: true, PBKDF: fastKDF, Mount: filepath.Join(t.TempDir(), "data")}
	p, err := NewPlan(o, d, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	var failed []Event
	in := &Installer{Sys: *sys}
	_, err = in.Apply(context.Background(), p, Secrets{Passphrase: []byte("pw")}, func(e Event) {
		if e.Kind == EventFailed {
			failed = append(failed, e)
		}
	})
	if err == nil || len(failed) != 1 || failed[0].Step != StepMkfs || !strings.Contains(failed[0].Error, "make ext4") {
		t.Fatalf("got err %v, failures %v; want one mkfs failure", err, failed)
	}
	if len(fm.created) != 0 || strings.Join(fm.removed, ",") != DefaultName {
		t.Errorf("got mappings %v removed %v, want ours closed", fm.created, fm.removed)
	}
	cfg, st, err := sys.Previous()
	if err != nil || st == nil || cfg != nil {
		t.Fatalf("got config %v, state %v, %v; want no config and the state of the failed run", cfg, st, err)
	}
	if st.Disk != d.ID || st.UUID == "" || strings.Join(stepsOf(st.Completed), ",") != "format,open" {
		t.Errorf("got state %+v, want disk, uuid and format,open completed", st)
	}
	if _, err := os.Stat(sys.ConfigPath()); !errors.Is(err, os.ErrNotExist) {
		t.Error("a config was written by a failed install")
	}
	_ = mnt
	// The re-run continues on the same disk: the guard's signature reason
	// is lifted because the state file names the disk.
	d.Signatures = []disk.Signature{{Type: "luks2", UUID: st.UUID}}
	d.Eligible = false
	d.Reasons = []disk.Reason{{Code: disk.ReasonSignature, Detail: "luks2", Override: disk.FlagAllowSignature}}
	sys.Mke2fs = ""
	sys.Discover = func(context.Context) ([]disk.Disk, error) { return []disk.Disk{d}, nil }
	p, err = NewPlan(o, d, nil, st)
	if err != nil {
		t.Fatal(err)
	}
	in = &Installer{Sys: *sys}
	res, err := in.Apply(context.Background(), p, Secrets{Passphrase: []byte("pw")}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.UUID == st.UUID {
		t.Error("the re-run kept the old LUKS UUID; want a fresh format")
	}
}

func stepsOf(s []StepName) []string {
	out := make([]string, len(s))
	for i, n := range s {
		out[i] = string(n)
	}
	return out
}

func TestApplyCancelled(t *testing.T) {
	sys, d, _, _ := testSystem(t, 32<<20)
	p, _ := NewPlan(Options{WholeDisk: true, PBKDF: fastKDF, Mount: t.TempDir()}, d, nil, nil)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	in := &Installer{Sys: *sys, Now: func() time.Time { return time.Unix(0, 0) }}
	if _, err := in.Apply(ctx, p, Secrets{Passphrase: []byte("pw")}, nil); !errors.Is(err, context.Canceled) {
		t.Errorf("got %v, want context.Canceled", err)
	}
	b, _ := os.ReadFile(filepath.Join(sys.Dev, "vdb"))
	for _, c := range b {
		if c != 0 {
			t.Fatal("a cancelled install wrote to the disk")
		}
	}
}

// TestApplyGuard: the guard finds the planned disk by its name and device
// number among lookalikes (two loop devices on one file share a name), and
// stops when it is gone or no longer eligible.
func TestApplyGuard(t *testing.T) {
	sys, d, _, _ := testSystem(t, 32<<20)
	twin := d
	twin.Dev = "7:9"
	mounted := d
	mounted.Eligible = false
	mounted.Mounts = []disk.Mount{{Device: "vdb", MountPoint: "/mnt"}}
	mounted.Reasons = []disk.Reason{{Code: disk.ReasonMounted, Detail: "vdb is mounted at /mnt"}}
	for _, tc := range []struct {
		name  string
		disks []disk.Disk
		want  string // error text, "" for success
	}{
		{"twin listed first", []disk.Disk{twin, d}, ""},
		{"gone", []disk.Disk{twin}, "gone or changed"},
		{"mounted meanwhile", []disk.Disk{mounted}, "mounted: vdb is mounted at /mnt"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			os.WriteFile(filepath.Join(sys.Dev, "vdb"), make([]byte, 32<<20), 0o644)
			os.RemoveAll(filepath.Join(sys.Etc, "simplecloud"))
			in := &Installer{Sys: *sys}
			in.Sys.Mapper = newFileMapper(filepath.Join(sys.Dev, "mapper"))
			in.Sys.Discover = func(context.Context) ([]disk.Disk, error) { return tc.disks, nil }
			p, err := NewPlan(Options{WholeDisk: true, PBKDF: fastKDF, Mount: t.TempDir()}, d, nil, nil)
			if err != nil {
				t.Fatal(err)
			}
			_, err = in.Apply(context.Background(), p, Secrets{Passphrase: []byte("pw")}, nil)
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("got %v, want success", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Errorf("got %v, want an error with %q", err, tc.want)
			}
			if tc.want != "" {
				if _, err := os.Stat(sys.StatePath()); !errors.Is(err, os.ErrNotExist) {
					t.Error("a refused install left a state file (it wrote something?)")
				}
			}
		})
	}
}

// TestApplyResumesAWipeDoneToTheEnd: a run killed after its wipe wrote the
// last byte, but before the step was on record, leaves wipe_done at the
// disk's size; the next run takes the wipe as done instead of refusing the
// offset.
func TestApplyResumesAWipeDoneToTheEnd(t *testing.T) {
	const size = 32 << 20
	sys, d, _, _ := testSystem(t, size)
	o := Options{WholeDisk: true, Wipe: wipe.Zero, PBKDF: fastKDF, Mount: filepath.Join(t.TempDir(), "data")}
	st := &State{Disk: d.ID, Name: DefaultName, Mount: o.Mount, WipeMode: string(wipe.Zero), WipeDone: size}
	p, err := NewPlan(o, d, nil, st)
	if err != nil {
		t.Fatal(err)
	}
	var wiped []Event
	in := &Installer{Sys: *sys}
	if _, err := in.Apply(context.Background(), p, Secrets{Passphrase: []byte("pw")}, func(e Event) {
		if e.Step == StepWipe && e.Kind != EventProgress {
			wiped = append(wiped, e)
		}
	}); err != nil {
		t.Fatal(err)
	}
	if len(wiped) != 2 || wiped[1].Kind != EventDone || !strings.Contains(wiped[1].Message, "earlier run") {
		t.Errorf("got wipe events %+v, want it started and done by the earlier run", wiped)
	}
}

// TestApplyRemovesAHalfMadeMapping: an install killed while it created the
// mapping leaves a device with its UUID and no table, which holds nothing;
// the resumed install removes it and opens the volume, and a mapping of
// anyone else's under the same name is still refused.
func TestApplyRemovesAHalfMadeMapping(t *testing.T) {
	for _, tt := range []struct {
		name string
		uuid string
		ok   bool
	}{
		{"ours", luks.DMUUID(2, "0f2c1e7a-5b3d-4c8e-9a1f-2b3c4d5e6f70", DefaultName), true},
		{"foreign", "CRYPT-LUKS2-00000000000000000000000000000000-" + DefaultName, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			sys, d, fm, _ := testSystem(t, 32<<20)
			o := Options{WholeDisk: true, Wipe: wipe.Zero, PBKDF: fastKDF, Mount: filepath.Join(t.TempDir(), "data")}
			st := &State{Disk: d.ID, Name: DefaultName, Mount: o.Mount, WipeMode: string(wipe.Zero),
				UUID: "0f2c1e7a-5b3d-4c8e-9a1f-2b3c4d5e6f70", Completed: []StepName{StepWipe, StepPartition, StepFormat}}
			if err := fm.CreateCrypt(DefaultName, tt.uuid, dm.CryptTarget{Length: 8}); err != nil {
				t.Fatal(err)
			}
			p, err := NewPlan(o, d, nil, st)
			if err != nil {
				t.Fatal(err)
			}
			in := &Installer{Sys: *sys}
			_, err = in.Apply(context.Background(), p, Secrets{Passphrase: []byte("pw")}, func(Event) {})
			if tt.ok && (err != nil || len(fm.removed) != 1) {
				t.Fatalf("resumed install: %v, removed %v", err, fm.removed)
			}
			if !tt.ok && !errors.Is(err, ErrAlreadyOpen) {
				t.Fatalf("a foreign mapping: %v, want ErrAlreadyOpen", err)
			}
		})
	}
}
