package dm

import "fmt"

// ValidName checks a device name the way the kernel does, and a little
// more: 1 to 127 bytes, no '/', not ".", ".." or "control" (the name of the
// control node beside the devices), no control characters or NUL.
func ValidName(name string) error {
	switch {
	case name == "":
		return fmt.Errorf("device name is empty")
	case len(name) > maxNameBytes:
		return fmt.Errorf("device name of %d bytes is longer than %d", len(name), maxNameBytes)
	case name == "." || name == ".." || name == "control":
		return fmt.Errorf("device name %q is reserved", name)
	}
	for i := 0; i < len(name); i++ {
		if c := name[i]; c == '/' || c < ' ' || c == 0x7f {
			return fmt.Errorf("device name %q: byte %q not allowed", name, c)
		}
	}
	return nil
}

// ValidUUID checks a device uuid: empty (none) or up to 128 bytes without
// control characters or NUL. Nothing else is imposed; cryptsetup recognises
// its own devices by a "CRYPT-<TYPE>-" prefix.
func ValidUUID(uuid string) error {
	if len(uuid) > maxUUIDBytes {
		return fmt.Errorf("device uuid of %d bytes is longer than %d", len(uuid), maxUUIDBytes)
	}
	for i := 0; i < len(uuid); i++ {
		if c := uuid[i]; c < ' ' || c == 0x7f {
			return fmt.Errorf("device uuid %q: byte %q not allowed", uuid, c)
		}
	}
	return nil
}
