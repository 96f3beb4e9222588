package disk

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/jaypipes/ghw"
	"github.com/jaypipes/ghw/pkg/block"
	"golang.org/x/sys/unix"
)

// unknown is how ghw reports a value it could not find.
const unknown = "unknown"

// Discover lists every block device on the host with the facts the guard
// needs and every reason each one is ineligible; apply a Policy with
// Decide. It reads sysfs, the udev database when there is one, every mount
// namespace's mount table, /proc/swaps, and the superblocks of each disk,
// which it opens with O_EXCL.
func (h Host) Discover(ctx context.Context) ([]Disk, error) {
	f, err := h.gather(ctx)
	if err != nil {
		return nil, err
	}
	return assemble(f), nil
}

func (h Host) gather(ctx context.Context) (facts, error) {
	// ghw.Block, from ghw's root package (which links all of ghw), for
	// WithLogger: block.New with ghw/pkg/option's options takes no logger,
	// and ghw's warnings would go to stderr, across the installer's screen.
	// The narrower import would save 0.4 ms of package initialisation of
	// every command (measured for issue 13), within the noise of a run;
	// ghw/pkg/block alone still links net/http, pcidb and yaml.
	info, err := ghw.Block(ctx, ghw.WithChroot(h.Root), ghw.WithDisableTools(), ghw.WithLogger(h.Log),
		ghw.WithPathOverrides(map[string]string{"/sys": h.Sys, "/proc": h.Proc, "/dev": h.Dev, "/run": h.Run}))
	if err != nil {
		return facts{}, fmt.Errorf("list block devices: %w", err)
	}
	f := facts{devs: map[string]devInfo{}, openErr: map[string]error{}}
	byDev := map[string]string{} // major:minor -> kernel name
	for _, gd := range info.Disks {
		d := h.diskFacts(gd)
		byDev[d.Dev] = d.Name
		f.devs[d.Name] = h.devInfo(d.Name)
		for _, p := range d.Partitions {
			byDev[p.Dev] = p.Name
			f.devs[p.Name] = devInfo{holders: names(h.sys("block", d.Name, p.Name, "holders"))}
		}
		f.disks = append(f.disks, d)
	}
	for _, d := range f.disks {
		if strings.HasPrefix(d.BackingFile, h.Dev+"/") { // a loop device on a block device
			info := f.devs[d.Name]
			info.loopBacking = h.resolve(d.BackingFile, f.devs)
			f.devs[d.Name] = info
		}
	}
	if h.Root == "/" { // a fixture tree has no other discovery
		defer lockProbes(probeLockPath, probeLockWait)()
	}
	for i := range f.disks {
		d := &f.disks[i]
		if d.Kind == KindOther || d.SizeBytes == 0 {
			continue
		}
		if err := h.readSignatures(d); err != nil {
			f.openErr[d.Name] = err
		}
	}
	if f.mounts, err = h.mounts(byDev, f.devs); err != nil {
		return facts{}, err
	}
	swaps, err := h.swaps()
	if err != nil {
		return facts{}, err
	}
	for _, s := range swaps {
		if n := h.resolve(s, f.devs); n != "" {
			f.swaps = append(f.swaps, n)
		}
	}
	if exe, err := os.Readlink(h.proc("self", "exe")); err == nil {
		f.exePath = strings.TrimSuffix(exe, " (deleted)")
	}
	return f, nil
}

// diskFacts fills in what ghw and sysfs say about one block device.
func (h Host) diskFacts(gd *block.Disk) Disk {
	name := gd.Name
	sysPath, _ := os.Readlink(h.sys("block", name))
	dev := readTrim(h.sys("block", name, "dev"))
	wwid := firstKnown(readTrim(h.sys("block", name, "wwid")), readTrim(h.sys("block", name, "device", "wwid")))
	props, links := h.udevData(dev)
	kind, bus := kindAndBus(name, gd.DriveType, gd.StorageController, known(gd.BusPath), sysPath)
	d := Disk{
		Name:               name,
		Path:               h.devPath(name),
		Dev:                dev,
		SizeBytes:          gd.SizeBytes,
		LogicalBlockBytes:  gd.LogicalBlockSizeBytes,
		PhysicalBlockBytes: gd.PhysicalBlockSizeBytes,
		Kind:               kind,
		Bus:                bus,
		BusPath:            known(gd.BusPath),
		Vendor:             firstKnown(gd.Vendor, readTrim(h.sys("block", name, "device", "vendor"))),
		Model:              firstKnown(gd.Model, readTrim(h.sys("block", name, "device", "model"))),
		Serial:             firstKnown(gd.SerialNumber, readTrim(h.sys("block", name, "serial")), readTrim(h.sys("block", name, "device", "serial"))),
		WWN:                firstKnown(gd.WWN, wwid),
		Removable:          gd.IsRemovable,
		ReadOnly:           readTrim(h.sys("block", name, "ro")) == "1",
		BackingFile:        readTrim(h.sys("block", name, "loop", "backing_file")),
		Signatures:         []Signature{},
		Partitions:         []Partition{},
	}
	var udevByID []string
	for _, l := range links {
		if n, ok := strings.CutPrefix(l, "disk/by-id/"); ok {
			udevByID = append(udevByID, n)
		}
	}
	d.ID, d.IDSource, d.ByID = chooseID(idFacts{
		udevLinks: udevByID, devLinks: h.byIDLinks(name), name: name, bus: bus,
		model: d.Model, serial: d.Serial, wwid: wwid, sysPath: sysPath, backing: d.BackingFile,
	})
	if b := props["ID_BUS"]; d.Bus == "scsi" && (b == "usb" || b == "ata") {
		d.Bus = b // udev saw through the SCSI layer
	}
	for _, gp := range gd.Partitions {
		start, _ := strconv.ParseUint(readTrim(h.sys("block", name, gp.Name, "start")), 10, 64)
		d.Partitions = append(d.Partitions, Partition{
			Name:       gp.Name,
			Path:       h.devPath(gp.Name),
			Dev:        readTrim(h.sys("block", name, gp.Name, "dev")),
			StartBytes: start * 512,
			SizeBytes:  gp.SizeBytes,
			Signatures: []Signature{},
		})
	}
	return d
}

// known maps ghw's "unknown" to "".
func known(s string) string {
	if s == unknown {
		return ""
	}
	return s
}

func firstKnown(vals ...string) string {
	for _, v := range vals {
		if v = strings.TrimSpace(known(v)); v != "" {
			return v
		}
	}
	return ""
}

// devInfo reads how a device is stacked: its holders and, for a
// device-mapper device, its name and uuid.
func (h Host) devInfo(name string) devInfo {
	return devInfo{
		holders: names(h.sys("block", name, "holders")),
		dmName:  readTrim(h.sys("block", name, "dm", "name")),
		dmUUID:  readTrim(h.sys("block", name, "dm", "uuid")),
	}
}

// resolve maps a device path the machine sees (/dev/sda2,
// /dev/mapper/root, /dev/disk/by-uuid/...) to a kernel name in devs, or "".
func (h Host) resolve(p string, devs map[string]devInfo) string {
	if !strings.HasPrefix(p, h.Dev+"/") {
		return ""
	}
	if real, err := filepath.EvalSymlinks(h.in(p)); err == nil {
		if _, ok := devs[filepath.Base(real)]; ok {
			return filepath.Base(real)
		}
	}
	if dm, ok := strings.CutPrefix(p, h.Dev+"/mapper/"); ok {
		for n, info := range devs {
			if info.dmName == dm {
				return n
			}
		}
	}
	if _, ok := devs[filepath.Base(p)]; ok {
		return filepath.Base(p)
	}
	return ""
}

// exclusiveRetry is how long openExclusive keeps trying while the disk is
// busy: another discovery (the installer on another console, which probes
// the same disks at the same moment) holds it only for its own probe.
const exclusiveRetry = 300 * time.Millisecond

// openExclusive opens node with O_EXCL, trying again for exclusiveRetry
// while the open fails with EBUSY.
func openExclusive(node string) (int, error) {
	deadline := time.Now().Add(exclusiveRetry)
	for {
		fd, err := unix.Open(node, unix.O_RDONLY|unix.O_EXCL|unix.O_CLOEXEC, 0)
		if !errors.Is(err, syscall.EBUSY) || time.Now().After(deadline) {
			return fd, err
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// readSignatures opens a disk exclusively and reads the signatures of the
// whole disk and of each partition. The exclusive open fails with EBUSY
// when anything holds the disk (a mount, swap, a stacked device); then it
// reads the signatures through a shared open and returns the EBUSY error.
func (h Host) readSignatures(d *Disk) error {
	node := h.in(d.Path)
	fd, err := openExclusive(node)
	var busy error
	if errors.Is(err, syscall.EBUSY) {
		// Held by someone else: say so, and still read what it carries.
		busy = fmt.Errorf("open %s exclusively: %w", d.Path, err)
		fd, err = unix.Open(node, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	}
	if err != nil {
		return fmt.Errorf("open %s exclusively: %w", d.Path, err)
	}
	f := os.NewFile(uintptr(fd), node)
	defer f.Close()
	size := int64(d.SizeBytes)
	if st, err := f.Stat(); err == nil && st.Mode().IsRegular() && st.Size() < size {
		size = st.Size() // a fixture image shorter than the disk it stands for
	}
	if d.Signatures, err = Probe(f, size); err != nil {
		return fmt.Errorf("probe %s: %w", d.Path, err)
	}
	for i := range d.Partitions {
		p := &d.Partitions[i]
		start, psize := int64(p.StartBytes), int64(p.SizeBytes)
		if start >= size {
			continue
		}
		psize = min(psize, size-start)
		if p.Signatures, err = Probe(io.NewSectionReader(f, start, psize), psize); err != nil {
			return fmt.Errorf("probe %s: %w", p.Path, err)
		}
	}
	return busy
}
