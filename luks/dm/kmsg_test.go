package dm

import (
	"reflect"
	"testing"
)

func TestKmsgText(t *testing.T) {
	cases := map[string]string{
		"3,1234,567890,-;device-mapper: table: 253:0: crypt: Error allocating crypto tfm (-ENOENT)\n": "device-mapper: table: 253:0: crypt: Error allocating crypto tfm (-ENOENT)",
		"6,1,2,-,caller=T1;hello\n SUBSYSTEM=block\n DEVICE=b253:0\n":                                 "hello",
		"no separator\n": "",
		"":               "",
	}
	for in, want := range cases {
		if got := kmsgText([]byte(in)); got != want {
			t.Errorf("kmsgText(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestDMReasons(t *testing.T) {
	msgs := []string{
		"virtio_blk virtio1: [vdb] 131072 512-byte logical blocks",
		"device-mapper: table: 253:1: crypt: Error allocating crypto tfm (-ENOENT)",
		"device-mapper: ioctl: error adding target to table",
		"device-mapper: table: 253:10: crypt: Device lookup failed (-ENOENT)",
	}
	got := dmReasons(msgs, "253:1")
	want := []string{"table: 253:1: crypt: Error allocating crypto tfm (-ENOENT)"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("for 253:1: got %q, want %q", got, want)
	}
	got = dmReasons(msgs, "253:7")
	if len(got) != 3 {
		t.Errorf("for a device not named: got %q, want all three device-mapper lines", got)
	}
	if got := dmReasons(msgs[:1], "253:1"); len(got) != 0 {
		t.Errorf("no device-mapper lines: got %q", got)
	}
}
