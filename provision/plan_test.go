package provision

import (
	"errors"
	"strings"
	"testing"

	"simplecloud/disk"
	"simplecloud/disk/wipe"
)

func blankDisk() disk.Disk {
	return disk.Disk{Name: "vdb", Path: "/dev/vdb", ID: "virtio-DATA", Dev: "254:16", SizeBytes: 256 << 20,
		LogicalBlockBytes: 512, PhysicalBlockBytes: 512, Kind: disk.KindVirtual, Eligible: true}
}

func stepNames(p *Plan) string {
	var s []string
	for _, st := range p.Steps {
		s = append(s, string(st.Name))
	}
	return strings.Join(s, ",")
}

func TestNewPlanSteps(t *testing.T) {
	for _, tc := range []struct {
		name string
		o    Options
		d    func(*disk.Disk)
		want string
	}{
		{"defaults", Options{}, nil, "guard,partition,format,open,mkfs,mount,configure,handoff"},
		{"zero wipe", Options{Wipe: wipe.Zero}, nil, "guard,wipe,partition,format,open,mkfs,mount,configure,handoff"},
		{"whole disk", Options{WholeDisk: true, Wipe: wipe.Discard}, nil, "guard,wipe,format,open,mkfs,mount,configure,handoff"},
		{"allowed signature", Options{}, func(d *disk.Disk) {
			d.Signatures = []disk.Signature{{Type: "ext4"}}
			d.Reasons = []disk.Reason{{Code: disk.ReasonSignature, Allowed: true}}
		}, "guard,partition,format,open,mkfs,mount,configure,handoff"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := blankDisk()
			if tc.d != nil {
				tc.d(&d)
			}
			p, err := NewPlan(tc.o, d, nil, nil)
			if err != nil {
				t.Fatal(err)
			}
			if got := stepNames(p); got != tc.want {
				t.Errorf("got steps %s, want %s", got, tc.want)
			}
		})
	}
}

func TestNewPlanTarget(t *testing.T) {
	for _, tc := range []struct{ path, want string }{
		{"/dev/vdb", "/dev/vdb1"}, {"/dev/nvme0n1", "/dev/nvme0n1p1"}, {"/dev/loop3", "/dev/loop3p1"}, {"/dev/sda", "/dev/sda1"},
	} {
		d := blankDisk()
		d.Path = tc.path
		p, err := NewPlan(Options{}, d, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		if p.Target != tc.want {
			t.Errorf("got target %s for %s, want %s", p.Target, tc.path, tc.want)
		}
	}
	d := blankDisk()
	p, _ := NewPlan(Options{WholeDisk: true}, d, nil, nil)
	if p.Target != "/dev/vdb" {
		t.Errorf("got whole-disk target %s, want /dev/vdb", p.Target)
	}
}

func TestNewPlanRefuses(t *testing.T) {
	d := blankDisk()
	d.Eligible = false
	d.Reasons = []disk.Reason{{Code: disk.ReasonMounted, Detail: "vdb1 mounted at /"}, {Code: disk.ReasonSystem, Detail: "carries /"}}
	d.Mounts = []disk.Mount{{Device: "vdb1", MountPoint: "/"}}
	_, err := NewPlan(Options{}, d, nil, nil)
	var re *RefusedError
	if !errors.As(err, &re) {
		t.Fatalf("got %v, want a RefusedError", err)
	}
	if len(re.Reasons) != 2 || !strings.Contains(err.Error(), "system: carries /") {
		t.Errorf("got %q, want both reasons", err)
	}
	// A state file for this disk does not lift someone else's mount.
	_, err = NewPlan(Options{}, d, nil, &State{Disk: d.ID, Name: DefaultName, Mount: DefaultMount})
	if !errors.As(err, &re) {
		t.Fatalf("with a state file: got %v, want a RefusedError", err)
	}
}

func installedDisk(uuid string) disk.Disk {
	d := blankDisk()
	d.Eligible = false
	d.Partitions = []disk.Partition{{Name: "vdb1", Path: "/dev/vdb1", Signatures: []disk.Signature{{Type: "luks2", UUID: uuid, Label: DefaultLabel}}}}
	d.Signatures = []disk.Signature{{Type: "gpt"}}
	d.Reasons = []disk.Reason{{Code: disk.ReasonSignature, Detail: "gpt", Override: disk.FlagAllowSignature}}
	return d
}

func TestNewPlanInstalled(t *testing.T) {
	const uuid = "11111111-2222-3333-4444-555555555555"
	cfg := &Config{Volume: VolumeConfig{UUID: uuid, Name: DefaultName, Mount: DefaultMount, Disk: "virtio-DATA"}}
	d := installedDisk(uuid)

	_, err := NewPlan(Options{}, d, cfg, nil)
	var ie *InstalledError
	if !errors.As(err, &ie) || !ie.OnDisk || ie.Volume.UUID != uuid {
		t.Fatalf("got %v, want an InstalledError on the disk", err)
	}
	if !strings.Contains(err.Error(), "nothing was written") {
		t.Errorf("got %q, want it to say nothing was written", err)
	}
	// Our label alone, config lost, is recognised too.
	if _, err := NewPlan(Options{}, d, nil, nil); !errors.As(err, &ie) {
		t.Errorf("label only: got %v, want an InstalledError", err)
	}
	// Our label on a disk our unfinished install names is a resume.
	if p, err := NewPlan(Options{}, d, nil, &State{Disk: d.ID}); err != nil || p.Resume == nil {
		t.Errorf("label with a state file: got %v, %v; want a resumed plan", p, err)
	}
	// The configuration our unfinished install wrote before it was
	// stopped (the state names the same volume) is a resume too; another
	// volume's is not.
	if p, err := NewPlan(Options{}, d, cfg, &State{Disk: d.ID, UUID: uuid}); err != nil || p.Resume == nil || p.Replaces != nil {
		t.Errorf("its own config with a state file: got %v, %v; want a resumed plan that replaces nothing", p, err)
	}
	if _, err := NewPlan(Options{}, d, cfg, &State{Disk: d.ID, UUID: "99999999-2222-3333-4444-555555555555"}); !errors.As(err, &ie) {
		t.Errorf("another volume's config with a state file: got %v, want an InstalledError", err)
	}
	// A configuration naming another disk refuses a blank disk too.
	if _, err := NewPlan(Options{}, blankDisk(), cfg, nil); !errors.As(err, &ie) || ie.OnDisk {
		t.Errorf("blank disk with a config: got %v, want an InstalledError not on the disk", err)
	}
	// Reformat: the new confirmation lifts our own signatures.
	p, err := NewPlan(Options{Reformat: true}, d, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	if p.Replaces != cfg || !p.Has(StepFormat) {
		t.Errorf("got replaces %v, steps %s; want the old config and a format", p.Replaces, stepNames(p))
	}
}

func TestNewPlanResumeCleansUp(t *testing.T) {
	const uuid = "aaaaaaaa-2222-3333-4444-555555555555"
	d := installedDisk(uuid)
	d.Partitions[0].Signatures[0].Label = "other" // not our label: only the state file says it is ours
	d.Holders = []disk.Holder{{Name: "dm-0", Kind: "crypt", DMName: DefaultName, On: "vdb1"}}
	d.Mounts = []disk.Mount{{Device: "dm-0", MountPoint: DefaultMount, FSType: "ext4"}}
	d.Reasons = append(d.Reasons,
		disk.Reason{Code: disk.ReasonHolder, Detail: "dm-0"},
		disk.Reason{Code: disk.ReasonMounted, Detail: "dm-0 at " + DefaultMount},
		disk.Reason{Code: disk.ReasonBusy, Detail: "EBUSY"})

	if _, err := NewPlan(Options{}, d, nil, nil); err == nil {
		t.Fatal("without a state file: got a plan, want a refusal")
	}
	st := &State{Disk: d.ID, UUID: uuid, Name: DefaultName, Mount: DefaultMount, WipeMode: "zero", WipeDone: 1 << 20}
	p, err := NewPlan(Options{Wipe: wipe.Zero}, d, nil, st)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := stepNames(p), "guard,cleanup,wipe,partition,format,open,mkfs,mount,configure,handoff"; got != want {
		t.Errorf("got steps %s, want %s", got, want)
	}
	if strings.Join(p.Unmount, ",") != DefaultMount || strings.Join(p.Close, ",") != DefaultName {
		t.Errorf("got unmount %v close %v, want our mount and mapping", p.Unmount, p.Close)
	}
	if !strings.Contains(p.String(), "resuming at byte 1048576") {
		t.Errorf("plan does not say the wipe resumes:\n%s", p)
	}
	st.Completed = []StepName{StepWipe}
	p, _ = NewPlan(Options{Wipe: wipe.Zero}, d, nil, st)
	if p.Has(StepWipe) {
		t.Error("a completed wipe is planned again")
	}
	// Someone else's mount on our mapping is not ours to undo.
	d.Mounts[0].MountPoint = "/home"
	if _, err := NewPlan(Options{}, d, nil, st); err == nil {
		t.Error("foreign mount point: got a plan, want a refusal")
	}
}

func TestOptionsCheck(t *testing.T) {
	for _, tc := range []struct {
		name string
		o    Options
		want string
	}{
		{"long label", Options{Label: "a-label-longer-than-16"}, "ext4 limit"},
		{"relative mount", Options{Mount: "srv"}, "absolute path"},
		{"root mount", Options{Mount: "/"}, "absolute path"},
		{"bad name", Options{Name: "a/b"}, "check name"},
		{"bad wipe", Options{Wipe: "shred"}, "wipe mode"},
		{"bad kdf", Options{}, ""},
	} {
		err := tc.o.WithDefaults().Check()
		if tc.want == "" {
			if err != nil {
				t.Errorf("%s: got %v, want nil", tc.name, err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got %v, want an error with %q", tc.name, err, tc.want)
		}
	}
}

func TestEstimateWipe(t *testing.T) {
	d := blankDisk()
	d.Kind, d.SizeBytes = disk.KindHDD, 4e12
	for m, want := range map[wipe.Mode]string{wipe.Zero: "about 7h20m", wipe.Discard: "a few seconds", WipeNone: "nothing written"} {
		if got := EstimateWipe(m, d); got != want {
			t.Errorf("got %q for %s of 4 TB HDD, want %q", got, m, want)
		}
	}
}
