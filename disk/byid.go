package disk

import (
	"slices"
	"strings"
)

// idFacts is what the shell found that can name a disk stably.
type idFacts struct {
	udevLinks []string // by-id names from the udev database (S:disk/by-id/...)
	devLinks  []string // by-id names from /dev/disk/by-id links that resolve to the disk
	name      string   // kernel name
	bus       string
	model     string
	serial    string // from sysfs (virtio serial, nvme serial)
	wwid      string // sysfs wwid: naa.*, eui.*, t10.*
	sysPath   string // the sysfs device path the /sys/block link points to
	backing   string // loop backing file
}

// byIDRank orders by-id names: names built from bus, model and serial first
// (people can read them), then WWN and EUI names, then the rest.
func byIDRank(n string) int {
	switch {
	case strings.HasPrefix(n, "wwn-"), strings.HasPrefix(n, "nvme-eui."), strings.HasPrefix(n, "nvme-nvme."):
		return 1
	case strings.HasPrefix(n, "ata-"), strings.HasPrefix(n, "nvme-"), strings.HasPrefix(n, "usb-"),
		strings.HasPrefix(n, "virtio-"), strings.HasPrefix(n, "scsi-"), strings.HasPrefix(n, "mmc-"):
		return 0
	}
	return 2
}

// isPartLink reports whether a by-id name names a partition (ends in
// "-partN").
func isPartLink(n string) bool {
	i := strings.LastIndex(n, "-part")
	return i >= 0 && i+5 < len(n) && allIn(n[i+5:], "0123456789")
}

// allIn reports whether every byte of s is one of chars.
func allIn(s, chars string) bool {
	for i := 0; i < len(s); i++ {
		if strings.IndexByte(chars, s[i]) < 0 {
			return false
		}
	}
	return true
}

// matchShape reports whether s has the shape of pattern, where 'x' stands
// for a lowercase hex digit, 'n' for one or more decimal digits, and any
// other byte for itself.
func matchShape(s, pattern string) bool {
	for _, p := range []byte(pattern) {
		switch p {
		case 'x':
			if s == "" || !allIn(s[:1], "0123456789abcdef") {
				return false
			}
			s = s[1:]
		case 'n':
			j := 0
			for j < len(s) && s[j] >= '0' && s[j] <= '9' {
				j++
			}
			if j == 0 {
				return false
			}
			s = s[j:]
		default:
			if s == "" || s[0] != p {
				return false
			}
			s = s[1:]
		}
	}
	return s == ""
}

// chooseID picks the stable name of a disk and where it came from: a by-id
// name from udev or /dev, one derived from sysfs the way udev would name it,
// a path name from the sysfs device path, or for a loop device its backing
// file. It returns every by-id name known as well.
func chooseID(f idFacts) (id, source string, byID []string) {
	seen := map[string]bool{}
	for _, n := range append(slices.Clone(f.udevLinks), f.devLinks...) {
		if !isPartLink(n) && !seen[n] {
			seen[n] = true
			byID = append(byID, n)
		}
	}
	slices.SortFunc(byID, func(a, b string) int {
		if ra, rb := byIDRank(a), byIDRank(b); ra != rb {
			return ra - rb
		}
		return strings.Compare(a, b)
	})
	if byID == nil {
		byID = []string{}
	}
	switch {
	case len(byID) > 0 && len(f.udevLinks) > 0 && slices.Contains(f.udevLinks, byID[0]):
		return byID[0], "udev", byID
	case len(byID) > 0:
		return byID[0], "dev", byID
	}
	if n := derivedID(f); n != "" {
		return n, "sysfs", byID
	}
	if f.backing != "" {
		return "loop:" + f.backing, "loop", byID
	}
	if n := pathID(f.sysPath); n != "" {
		return n, "path", byID
	}
	return "", "none", byID
}

// udevEscape makes a string safe for a by-id name the way udev does for
// ID_SERIAL: whitespace runs become one underscore, the ends are trimmed.
func udevEscape(s string) string {
	return strings.Join(strings.Fields(s), "_")
}

// derivedID builds the by-id name udev would create, from sysfs alone.
func derivedID(f idFacts) string {
	switch {
	case f.bus == "virtio" && f.serial != "":
		return "virtio-" + udevEscape(f.serial)
	case f.bus == "nvme" && f.model != "" && f.serial != "":
		return "nvme-" + udevEscape(f.model) + "_" + udevEscape(f.serial)
	case strings.HasPrefix(f.wwid, "naa."):
		return "wwn-0x" + strings.TrimPrefix(f.wwid, "naa.")
	case strings.HasPrefix(f.wwid, "eui.") && f.bus == "nvme":
		return "nvme-" + f.wwid
	}
	return ""
}

// pathID names a disk by where it is attached: its last PCI address and,
// behind a SCSI host, its host:channel:target:lun. It is stable while the
// hardware stays in place.
func pathID(sysPath string) string {
	var pci, scsi string
	for _, el := range strings.Split(sysPath, "/") {
		switch {
		case matchShape(el, "xxxx:xx:xx.x"):
			pci = el
		case matchShape(el, "n:n:n:n"):
			scsi = el
		}
	}
	if pci == "" {
		return ""
	}
	if scsi != "" {
		return "pci-" + pci + "-scsi-" + scsi
	}
	return "pci-" + pci
}
