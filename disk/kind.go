package disk

import (
	"regexp"
	"strings"
	"sync"

	"github.com/jaypipes/ghw/pkg/block"
)

// notDisk maps kernel name patterns of block devices that are not disks to
// what they are. They are compiled when first needed, not at every start
// of every command.
var notDisk = sync.OnceValue(func() []notDiskPattern {
	return []notDiskPattern{
		{regexp.MustCompile(`^dm-[0-9]+$`), "dm"},
		{regexp.MustCompile(`^md[0-9_a-z]*$`), "md"},
		{regexp.MustCompile(`^(zram|ram)[0-9]+$`), "ram"},
		{regexp.MustCompile(`^nbd[0-9]+$`), "nbd"},
		{regexp.MustCompile(`^(sr|scd)[0-9]+$`), "optical"},
		{regexp.MustCompile(`^fd[0-9]+$`), "floppy"},
		{regexp.MustCompile(`^mmcblk[0-9]+(boot[0-9]+|rpmb)$`), "mmc-boot"},
	}
})

type notDiskPattern struct {
	re   *regexp.Regexp
	what string
}

// kindAndBus classifies a block device from its kernel name, what ghw
// found, its udev bus path and its sysfs device path.
func kindAndBus(name string, dt block.DriveType, sc block.StorageController, busPath, sysPath string) (Kind, string) {
	for _, n := range notDisk() {
		if n.re.MatchString(name) {
			return KindOther, n.what
		}
	}
	if dt == block.DriveTypeODD {
		return KindOther, "optical"
	}
	usb := strings.Contains(busPath, "-usb-") || strings.Contains(sysPath, "/usb")
	rotating := dt == block.DriveTypeHDD
	switch sc {
	case block.StorageControllerLoop:
		return KindVirtual, "loop"
	case block.StorageControllerVirtIO:
		return KindVirtual, "virtio"
	case block.StorageControllerNVMe:
		return KindNVMe, "nvme"
	case block.StorageControllerMMC:
		return KindSSD, "mmc"
	case block.StorageControllerIDE:
		return hddOrSSD(rotating), "ide"
	case block.StorageControllerSCSI:
		switch {
		case usb:
			return hddOrSSD(rotating), "usb"
		case strings.HasPrefix(name, "xvd"):
			return KindVirtual, "xen"
		case strings.Contains(sysPath, "/ata") || strings.Contains(busPath, "-ata-"):
			return hddOrSSD(rotating), "ata"
		}
		return hddOrSSD(rotating), "scsi"
	}
	return KindOther, "unknown"
}

func hddOrSSD(rotating bool) Kind {
	if rotating {
		return KindHDD
	}
	return KindSSD
}
