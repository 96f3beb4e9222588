package disk

import (
	"fmt"
	"reflect"
	"strings"
	"syscall"
	"testing"
)

func codes(d Disk) []string {
	var out []string
	for _, r := range d.Reasons {
		out = append(out, r.Code)
	}
	return out
}

func TestAssemble(t *testing.T) {
	blank := func(name string) Disk { return Disk{Name: name, Kind: KindSSD, Bus: "ata", SizeBytes: 1 << 30} }
	cases := []struct {
		name string
		f    facts
		want []string
	}{
		{"blank", facts{disks: []Disk{blank("sdb")}}, nil},
		{"loop backed by the disk", facts{disks: []Disk{blank("sdb")}, devs: map[string]devInfo{"loop3": {loopBacking: "sdb"}}}, []string{ReasonHolder}},
		{"md on a partition, mounted", facts{
			disks:  []Disk{{Name: "sdb", Kind: KindHDD, SizeBytes: 1, Partitions: []Partition{{Name: "sdb1"}}}},
			devs:   map[string]devInfo{"sdb1": {holders: []string{"md0"}}},
			mounts: []Mount{{Device: "md0", MountPoint: "/srv"}},
		}, []string{ReasonMounted, ReasonHolder}},
		{"swap on a holder", facts{
			disks: []Disk{blank("sdb")},
			devs:  map[string]devInfo{"sdb": {holders: []string{"dm-3"}}},
			swaps: []string{"dm-3"},
		}, []string{ReasonSwap, ReasonHolder}},
		{"boot partition and running program", facts{
			disks:   []Disk{{Name: "sda", Kind: KindSSD, SizeBytes: 1, Partitions: []Partition{{Name: "sda1"}, {Name: "sda2"}}}},
			mounts:  []Mount{{Device: "sda1", MountPoint: "/boot"}, {Device: "sda2", MountPoint: "/opt"}},
			exePath: "/opt/bin/simplecloud",
		}, []string{ReasonSystem, ReasonSystem, ReasonMounted, ReasonMounted}},
		{"/ in another namespace is not the running system", facts{
			disks:  []Disk{blank("sdb")},
			mounts: []Mount{{Device: "sdb", MountPoint: "/", PID: 77}},
		}, []string{ReasonMounted}},
		{"busy and unreadable", facts{
			disks:   []Disk{blank("sdb"), blank("sdc")},
			openErr: map[string]error{"sdb": fmt.Errorf("open: %w", syscall.EBUSY), "sdc": fmt.Errorf("open: %w", syscall.EACCES)},
		}, []string{ReasonBusy}},
		{"not a disk, empty, read-only, removable usb", facts{
			disks: []Disk{{Name: "sr0", Kind: KindOther, Bus: "usb", ReadOnly: true, Removable: true}},
		}, []string{ReasonNotDisk, ReasonEmpty, ReasonReadOnly, ReasonRemovable}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ds := assemble(c.f)
			if got := codes(ds[0]); !reflect.DeepEqual(got, c.want) {
				t.Errorf("got reasons %v, want %v (%+v)", got, c.want, ds[0].Reasons)
			}
		})
	}
	ds := assemble(facts{disks: []Disk{blank("sdb"), blank("sdc")},
		openErr: map[string]error{"sdc": fmt.Errorf("open: %w", syscall.EACCES)}})
	if got := codes(ds[1]); !reflect.DeepEqual(got, []string{ReasonUnreadable}) {
		t.Errorf("permission denied: got %v, want [unreadable]", got)
	}
}

func TestDecidePolicy(t *testing.T) {
	cases := []struct {
		policy Policy
		want   bool
	}{
		{Policy{}, false},
		{Policy{AllowSignature: true}, false},
		{Policy{AllowRemovable: true}, false},
		{Policy{AllowRemovable: true, AllowSignature: true}, true},
	}
	for _, c := range cases {
		ds := discoverFixture(t, "usb", c.policy)
		if ds[0].Eligible != c.want {
			t.Errorf("usb stick with %+v: got eligible %v, want %v", c.policy, ds[0].Eligible, c.want)
		}
	}
	// No flag lifts a mount.
	ds := discoverFixture(t, "system", Policy{AllowRemovable: true, AllowSignature: true})
	if ds[0].Eligible {
		t.Errorf("system disk eligible with both flags: %+v", ds[0].Reasons)
	}
}

func TestAllListsStackedDevices(t *testing.T) {
	ds := discoverFixture(t, "luks-lvm", Policy{})
	var got []string
	for _, d := range ds {
		got = append(got, d.Name+":"+string(d.Kind))
	}
	want := []string{"sdb:hdd", "dm-0:other", "dm-1:other"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
	if len(onlyDisks(ds)) != 1 {
		t.Errorf("without --all got %d devices, want 1", len(onlyDisks(ds)))
	}
}

func TestFind(t *testing.T) {
	ds := discoverFixture(t, "system", Policy{})
	for _, arg := range []string{"sda", "/dev/sda", "ata-Samsung_SSD_860_EVO_500GB_S3Z9NB0K123456X",
		"/dev/disk/by-id/wwn-0x5002538e40a1b2c3"} {
		if d, ok := Find(ds, arg); !ok || d.Name != "sda" {
			t.Errorf("Find(%q): got %v, %v; want sda", arg, d, ok)
		}
	}
	if _, ok := Find(ds, "sdb"); ok {
		t.Errorf("Find(sdb) found a disk that is not there")
	}
}

func TestChooseID(t *testing.T) {
	cases := []struct {
		f        idFacts
		id, from string
	}{
		{idFacts{udevLinks: []string{"wwn-0x5000", "ata-X_Y", "ata-X_Y-part1"}}, "ata-X_Y", "udev"},
		{idFacts{devLinks: []string{"virtio-abc"}}, "virtio-abc", "dev"},
		{idFacts{bus: "virtio", serial: "data 1"}, "virtio-data_1", "sysfs"},
		{idFacts{bus: "scsi", wwid: "naa.5000c500a1b2c3d4"}, "wwn-0x5000c500a1b2c3d4", "sysfs"},
		{idFacts{backing: "/img/a.img"}, "loop:/img/a.img", "loop"},
		{idFacts{sysPath: "../devices/pci0000:00/0000:00:1f.2/ata1/host0/target0:0:0/0:0:0:0/block/sda"}, "pci-0000:00:1f.2-scsi-0:0:0:0", "path"},
		{idFacts{}, "", "none"},
	}
	for _, c := range cases {
		if id, from, _ := chooseID(c.f); id != c.id || from != c.from {
			t.Errorf("chooseID(%+v): got %q from %s, want %q from %s", c.f, id, from, c.id, c.from)
		}
	}
}

func TestParseMountinfo(t *testing.T) {
	in := "36 35 98:0 /mnt1 /mnt/my\\040disk rw,noatime master:1 - ext3 /dev/root rw,errors=continue\n" +
		"40 1 0:45 / /data rw shared:3 - btrfs /dev/sdb2 rw\n"
	got, err := parseMountinfo(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	want := []mountRaw{{dev: "98:0", source: "/dev/root", mountPoint: "/mnt/my disk", fstype: "ext3"},
		{dev: "0:45", source: "/dev/sdb2", mountPoint: "/data", fstype: "btrfs"}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v, want %+v", got, want)
	}
	if _, err := parseMountinfo(strings.NewReader("1 2 3\n")); err == nil {
		t.Errorf("a short line parsed without error")
	}
}
