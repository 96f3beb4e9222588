package disk

import (
	"errors"
	"fmt"
	"path"
	"slices"
	"strings"
	"syscall"
)

// facts is everything the OS shell gathers about the machine; assemble
// turns it into Disks with their reasons. It holds no OS handles, so the
// core can be tested with literal facts.
type facts struct {
	disks   []Disk             // one per top-level block device, own facts filled in
	devs    map[string]devInfo // every block device and partition, by kernel name
	mounts  []Mount            // every mount of a block device, all namespaces
	swaps   []string           // kernel names of devices in use as swap
	exePath string             // the running binary, as the caller's namespace sees it
	openErr map[string]error   // why a disk could not be opened exclusively and read
}

// devInfo is what sysfs says about how one block device is stacked.
type devInfo struct {
	holders     []string // direct holders, from sysfs holders/
	dmName      string   // device-mapper name
	dmUUID      string   // device-mapper uuid, e.g. "CRYPT-LUKS2-..." or "LVM-..."
	loopBacking string   // kernel name of the block device a loop device reads from
}

// systemMountPoints are the mount points that make a disk part of the
// running system.
var systemMountPoints = []string{"/", "/boot", "/boot/efi"}

// assemble attaches holders, mounts and swaps to each disk and lists every
// reason it is ineligible; decide then applies a policy.
func assemble(f facts) []Disk {
	out := make([]Disk, 0, len(f.disks))
	exeMount := mountHolding(f.mounts, f.exePath)
	for _, d := range f.disks {
		d.Holders = holdersOf(f.devs, d)
		tree := map[string]bool{d.Name: true}
		for _, p := range d.Partitions {
			tree[p.Name] = true
		}
		for _, h := range d.Holders {
			tree[h.Name] = true
		}
		d.Mounts = []Mount{}
		for _, m := range f.mounts {
			if tree[m.Device] {
				d.Mounts = append(d.Mounts, m)
			}
		}
		d.Swaps = []string{}
		for _, s := range f.swaps {
			if tree[s] {
				d.Swaps = append(d.Swaps, s)
			}
		}
		if err := f.openErr[d.Name]; err != nil {
			d.OpenError = err.Error()
		}
		d.Reasons = reasons(&d, f.openErr[d.Name], exeMount, f.exePath)
		out = append(out, d)
	}
	return out
}

// mountHolding returns the mount in the caller's namespace whose mount
// point is the longest prefix of p, or nil.
func mountHolding(mounts []Mount, p string) *Mount {
	if p == "" {
		return nil
	}
	var best *Mount
	for i, m := range mounts {
		if m.PID != 0 || !pathUnder(p, m.MountPoint) {
			continue
		}
		if best == nil || len(m.MountPoint) > len(best.MountPoint) {
			best = &mounts[i]
		}
	}
	return best
}

func pathUnder(p, dir string) bool {
	return dir == "/" || p == dir || strings.HasPrefix(p, strings.TrimSuffix(dir, "/")+"/")
}

// holdersOf walks sysfs holders and loop backings from a disk and its
// partitions, breadth first, and returns every device stacked on them.
func holdersOf(devs map[string]devInfo, d Disk) []Holder {
	loopsOn := map[string][]string{}
	for name, info := range devs {
		if info.loopBacking != "" {
			loopsOn[info.loopBacking] = append(loopsOn[info.loopBacking], name)
		}
	}
	for _, l := range loopsOn {
		slices.Sort(l)
	}
	queue := []string{d.Name}
	for _, p := range d.Partitions {
		queue = append(queue, p.Name)
	}
	seen := map[string]bool{}
	for _, q := range queue {
		seen[q] = true
	}
	out := []Holder{}
	for len(queue) > 0 {
		on := queue[0]
		queue = queue[1:]
		above := append(slices.Clone(devs[on].holders), loopsOn[on]...)
		for _, h := range above {
			if seen[h] {
				continue
			}
			seen[h] = true
			info := devs[h]
			out = append(out, Holder{Name: h, Kind: holderKind(h, info), DMName: info.dmName, On: on})
			queue = append(queue, h)
		}
	}
	return out
}

func holderKind(name string, info devInfo) string {
	switch {
	case strings.HasPrefix(info.dmUUID, "CRYPT-"):
		return "crypt"
	case strings.HasPrefix(info.dmUUID, "LVM-"):
		return "lvm"
	case strings.HasPrefix(name, "dm-"):
		return "dm"
	case strings.HasPrefix(name, "md"):
		return "md"
	case strings.HasPrefix(name, "loop"):
		return "loop"
	}
	return "other"
}

// reasons lists, in a fixed order, every reason d is not eligible.
func reasons(d *Disk, openErr error, exeMount *Mount, exePath string) []Reason {
	rs := []Reason{}
	add := func(code, override, format string, args ...any) {
		rs = append(rs, Reason{Code: code, Detail: fmt.Sprintf(format, args...), Override: override})
	}
	if d.Kind == KindOther {
		add(ReasonNotDisk, "", "%s is not a disk (%s)", d.Name, d.Bus)
	}
	if d.SizeBytes == 0 {
		add(ReasonEmpty, "", "%s has size zero (no medium)", d.Name)
	}
	if d.ReadOnly {
		add(ReasonReadOnly, "", "%s is read-only", d.Name)
	}
	for _, m := range d.Mounts {
		if m.PID == 0 && slices.Contains(systemMountPoints, m.MountPoint) {
			add(ReasonSystem, "", "%s holds the running system's %s", m.Device, m.MountPoint)
		}
	}
	if exeMount != nil && slices.Contains(d.Mounts, *exeMount) {
		add(ReasonSystem, "", "%s holds the running program %s", exeMount.Device, exePath)
	}
	for _, m := range d.Mounts {
		where := ""
		if m.PID != 0 {
			where = fmt.Sprintf(" in the mount namespace of pid %d", m.PID)
		}
		add(ReasonMounted, "", "%s is mounted at %s%s", m.Device, m.MountPoint, where)
	}
	for _, s := range d.Swaps {
		add(ReasonSwap, "", "%s is active swap", s)
	}
	for _, h := range d.Holders {
		name := h.Kind
		if h.DMName != "" {
			name += " " + h.DMName
		}
		add(ReasonHolder, "", "%s (%s) is stacked on %s", h.Name, name, h.On)
	}
	if openErr != nil {
		if errors.Is(openErr, syscall.EBUSY) {
			add(ReasonBusy, "", "%s is in use: the exclusive open failed: %v", d.Name, openErr)
		} else {
			add(ReasonUnreadable, "", "%s could not be checked: %v", d.Name, openErr)
		}
	}
	if d.Removable || d.Bus == "usb" {
		what := "removable"
		if d.Bus == "usb" {
			what = "a USB device"
			if d.Removable {
				what = "a removable USB device"
			}
		}
		add(ReasonRemovable, FlagAllowRemovable, "%s is %s", d.Name, what)
	}
	for _, s := range d.Signatures {
		add(ReasonSignature, FlagAllowSignature, "%s carries %s %s", d.Name, article(s.Type), s)
	}
	for _, p := range d.Partitions {
		for _, s := range p.Signatures {
			add(ReasonSignature, FlagAllowSignature, "%s carries %s %s", p.Name, article(s.Type), s)
		}
	}
	return rs
}

// article is the indefinite article for a signature type read aloud.
func article(typ string) string {
	switch typ {
	case "ext2", "ext3", "ext4", "xfs", "iso9660", "mbr", "md", "lvm2", "ntfs":
		return "an"
	}
	return "a"
}

// Decide applies a policy to every disk: it marks the reasons the policy
// lifts as allowed and sets Eligible when no other reason remains.
func Decide(disks []Disk, p Policy) {
	for i := range disks {
		d := &disks[i]
		d.Eligible = true
		for j := range d.Reasons {
			r := &d.Reasons[j]
			r.Allowed = (r.Override == FlagAllowRemovable && p.AllowRemovable) ||
				(r.Override == FlagAllowSignature && p.AllowSignature)
			if !r.Allowed {
				d.Eligible = false
			}
		}
	}
}

// Sort orders disks for display: eligible first, then disks before other
// devices, then by kernel name.
func Sort(disks []Disk) {
	slices.SortStableFunc(disks, func(a, b Disk) int {
		if a.Eligible != b.Eligible {
			if a.Eligible {
				return -1
			}
			return 1
		}
		if a.IsDisk() != b.IsDisk() {
			if a.IsDisk() {
				return -1
			}
			return 1
		}
		return strings.Compare(a.Name, b.Name)
	})
}

// Find returns the disk that arg names: a kernel name ("sdb"), a device
// path ("/dev/sdb"), a stable name ("ata-Model_SERIAL") or a by-id path
// ("/dev/disk/by-id/ata-Model_SERIAL").
func Find(disks []Disk, arg string) (*Disk, bool) {
	base := path.Base(arg)
	for i := range disks {
		d := &disks[i]
		if arg == d.Path || arg == d.Name || arg == d.ID || base == d.ID || slices.Contains(d.ByID, base) {
			return d, true
		}
	}
	return nil, false
}
