package disk

// Kind is the sort of device a disk is.
type Kind string

// Kinds of disk. KindOther covers block devices that are not disks at all
// (device-mapper, md, zram, optical drives); they are never eligible.
const (
	KindHDD     Kind = "hdd"
	KindSSD     Kind = "ssd"
	KindNVMe    Kind = "nvme"
	KindVirtual Kind = "virtual"
	KindOther   Kind = "other"
)

// Disk is one block device as discovery found it, with everything that
// uses it and the guard's verdict.
type Disk struct {
	Name     string   `json:"name"`      // kernel name, e.g. "sda"; not stable across boots
	Path     string   `json:"path"`      // device node, e.g. "/dev/sda"
	ID       string   `json:"id"`        // stable name the user confirms, e.g. "ata-Model_SERIAL"
	IDSource string   `json:"id_source"` // udev, dev (a /dev/disk/by-id link), sysfs, path or loop
	ByID     []string `json:"by_id"`     // every /dev/disk/by-id name known for the disk
	Dev      string   `json:"dev"`       // major:minor

	SizeBytes          uint64 `json:"size_bytes"`
	LogicalBlockBytes  uint64 `json:"logical_block_bytes"`
	PhysicalBlockBytes uint64 `json:"physical_block_bytes"`
	Kind               Kind   `json:"kind"`
	Bus                string `json:"bus"` // usb, ata, scsi, nvme, virtio, mmc, loop, dm, md, ... or unknown
	BusPath            string `json:"bus_path,omitempty"`
	Vendor             string `json:"vendor,omitempty"`
	Model              string `json:"model,omitempty"`
	Serial             string `json:"serial,omitempty"`
	WWN                string `json:"wwn,omitempty"`
	Removable          bool   `json:"removable"`
	ReadOnly           bool   `json:"read_only"`
	BackingFile        string `json:"backing_file,omitempty"` // loop devices only

	Signatures []Signature `json:"signatures"` // on the whole device
	Partitions []Partition `json:"partitions"`
	Holders    []Holder    `json:"holders"` // devices stacked on it, transitively
	Mounts     []Mount     `json:"mounts"`  // of it, its partitions or its holders, in any mount namespace
	Swaps      []string    `json:"swaps"`   // active swap devices among it, its partitions and holders

	// OpenError is why the disk could not be opened exclusively and read,
	// or empty when it could.
	OpenError string `json:"open_error,omitempty"`

	Eligible bool     `json:"eligible"`
	Reasons  []Reason `json:"reasons"` // every reason it is not eligible (some lifted by a flag)
}

// Partition is a partition of a disk.
type Partition struct {
	Name       string      `json:"name"`
	Path       string      `json:"path"`
	Dev        string      `json:"dev"`
	StartBytes uint64      `json:"start_bytes"`
	SizeBytes  uint64      `json:"size_bytes"`
	Signatures []Signature `json:"signatures"`
}

// Holder is a device stacked on a disk: a device-mapper target (LUKS,
// LVM), an md array or a loop device backed by it.
type Holder struct {
	Name   string `json:"name"`              // kernel name, e.g. "dm-0"
	Kind   string `json:"kind"`              // crypt, lvm, dm, md or loop
	DMName string `json:"dm_name,omitempty"` // /dev/mapper name
	On     string `json:"on"`                // the device it sits on directly
}

// Mount is a mounted filesystem.
type Mount struct {
	Device     string `json:"device"` // kernel name of the mounted device
	MountPoint string `json:"mount_point"`
	FSType     string `json:"fstype"`
	// PID names a process in the mount namespace of the mount when that
	// namespace is not the caller's own; 0 means the caller's namespace.
	PID int `json:"pid,omitempty"`
}

// Reason codes. Each reason that makes a disk ineligible carries one.
const (
	ReasonNotDisk    = "not-disk"   // a stacked or virtual block device, an optical drive
	ReasonEmpty      = "empty"      // size zero: no medium
	ReasonReadOnly   = "read-only"  // the kernel marks it read-only
	ReasonMounted    = "mounted"    // it, a partition or a holder is mounted
	ReasonSwap       = "swap"       // it, a partition or a holder is active swap
	ReasonSystem     = "system"     // it carries /, /boot, /boot/efi or the running binary
	ReasonHolder     = "holder"     // an active device-mapper, md or loop stack sits on it
	ReasonBusy       = "busy"       // the exclusive open failed
	ReasonUnreadable = "unreadable" // it could not be opened or read to check it
	ReasonRemovable  = "removable"  // removable or USB; lifted by --allow-removable
	ReasonSignature  = "signature"  // carries a signature; lifted by --allow-signature
)

// Flags that lift a reason.
const (
	FlagAllowRemovable = "--allow-removable"
	FlagAllowSignature = "--allow-signature"
)

// Reason is one thing that makes a disk ineligible.
type Reason struct {
	Code   string `json:"code"`
	Detail string `json:"detail"`
	// Override names the flag that lifts the reason, if any.
	Override string `json:"override,omitempty"`
	// Allowed is true when the policy in force lifted the reason.
	Allowed bool `json:"allowed,omitempty"`
}

// Policy says which overridable reasons to lift.
type Policy struct {
	AllowRemovable bool
	AllowSignature bool
}

// IsDisk reports whether d is a disk at all, as opposed to a stacked or
// virtual device that discovery lists only when asked for all devices.
func (d *Disk) IsDisk() bool { return d.Kind != KindOther }
