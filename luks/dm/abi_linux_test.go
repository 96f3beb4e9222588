package dm

import (
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"
)

// TestABIAgreesWithXSys checks this package's layout and flag values
// against the ones golang.org/x/sys/unix generates from the kernel headers.
func TestABIAgreesWithXSys(t *testing.T) {
	var io unix.DmIoctl
	var spec unix.DmTargetSpec
	ints := []struct {
		what      string
		got, want uintptr
	}{
		{"sizeof dm_ioctl", headerSize, unix.SizeofDmIoctl},
		{"data_size", offDataSize, unsafe.Offsetof(io.Data_size)},
		{"data_start", offDataStart, unsafe.Offsetof(io.Data_start)},
		{"target_count", offTargetCount, unsafe.Offsetof(io.Target_count)},
		{"open_count", offOpenCount, unsafe.Offsetof(io.Open_count)},
		{"flags", offFlags, unsafe.Offsetof(io.Flags)},
		{"event_nr", offEventNr, unsafe.Offsetof(io.Event_nr)},
		{"dev", offDev, unsafe.Offsetof(io.Dev)},
		{"name", offName, unsafe.Offsetof(io.Name)},
		{"uuid", offUUID, unsafe.Offsetof(io.Uuid)},
		{"data", offData, unsafe.Offsetof(io.Data)},
		{"DM_NAME_LEN", nameLen, unix.DM_NAME_LEN},
		{"DM_UUID_LEN", uuidLen, unix.DM_UUID_LEN},
		{"sizeof dm_target_spec", specSize, unix.SizeofDmTargetSpec},
		{"spec length", specLength, unsafe.Offsetof(spec.Length)},
		{"spec status", specStatus, unsafe.Offsetof(spec.Status)},
		{"spec next", specNext, unsafe.Offsetof(spec.Next)},
		{"spec target_type", specType, unsafe.Offsetof(spec.Target_type)},
		{"DM_MAX_TYPE_NAME", typeLen, unix.DM_MAX_TYPE_NAME},
		{"DM_READONLY_FLAG", flagReadOnly, unix.DM_READONLY_FLAG},
		{"DM_SUSPEND_FLAG", flagSuspend, unix.DM_SUSPEND_FLAG},
		{"DM_STATUS_TABLE_FLAG", flagStatusTable, unix.DM_STATUS_TABLE_FLAG},
		{"DM_ACTIVE_PRESENT_FLAG", flagActivePresent, unix.DM_ACTIVE_PRESENT_FLAG},
		{"DM_BUFFER_FULL_FLAG", flagBufferFull, unix.DM_BUFFER_FULL_FLAG},
		{"DM_UUID_FLAG", flagUUID, unix.DM_UUID_FLAG},
		{"DM_SECURE_DATA_FLAG", flagSecureData, unix.DM_SECURE_DATA_FLAG},
		{"DM_DEFERRED_REMOVE", flagDeferredRemove, unix.DM_DEFERRED_REMOVE},
		{"DM_NAME_LIST_FLAG_HAS_UUID", nameListHasUUID, unix.DM_NAME_LIST_FLAG_HAS_UUID},
		{"DM_VERSION_MAJOR", versionMajor, unix.DM_VERSION_MAJOR},
	}
	for _, c := range ints {
		if c.got != c.want {
			t.Errorf("%s: this package has %d, x/sys/unix %d", c.what, c.got, c.want)
		}
	}
	if versionMinor > unix.DM_VERSION_MINOR {
		t.Errorf("asking for interface 4.%d, newer than the headers' 4.%d", versionMinor, unix.DM_VERSION_MINOR)
	}
}

// TestDevEncodingMatchesMkdev checks the kernel's "huge" encoding against
// the C library's dev_t layout, which agrees with it for every number the
// kernel can hold (12-bit major, 20-bit minor).
func TestDevEncodingMatchesMkdev(t *testing.T) {
	for _, d := range []Dev{{253, 0}, {8, 16}, {254, 256}, {259, 70000}, {4095, 0xfffff}} {
		if got, want := encodeDev(d), unix.Mkdev(d.Major, d.Minor); got != want {
			t.Errorf("encodeDev(%v) = %#x, unix.Mkdev gives %#x", d, got, want)
		}
	}
}
