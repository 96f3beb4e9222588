package provision

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

func TestPrinterSteps(t *testing.T) {
	events := []Event{
		{Step: StepWipe, Kind: EventStarted, Message: "zero /dev/vdb"},
		{Step: StepWipe, Kind: EventProgress, Done: 1, Total: 2},
		{Step: StepWipe, Kind: EventProgress, Done: 2, Total: 2},
		{Step: StepWipe, Kind: EventDone, Message: "wiped"},
		{Step: StepFormat, Kind: EventInfo, Message: "KDF benchmark"},
	}
	for _, c := range []struct {
		name string
		tty  bool
		want string
	}{
		{"plain", false, "wipe      zero /dev/vdb\nwipe: 50.0%\nwipe: 100.0%\n          done: wiped\n          info: KDF benchmark\n"},
		{"terminal", true, "wipe      zero /dev/vdb\n\r" + pad("wipe: 50.0%") + "\r" + pad("wipe: 100.0%") + "\n          done: wiped\n          info: KDF benchmark\n"},
	} {
		t.Run(c.name, func(t *testing.T) {
			var out, status bytes.Buffer
			p := NewPrinter(&out, &status, c.tty, false)
			for _, e := range events {
				p.Event(e)
			}
			if status.String() != c.want || out.Len() != 0 {
				t.Errorf("got status %q, out %q; want status %q", status.String(), out.String(), c.want)
			}
		})
	}
}

func pad(s string) string { return s + strings.Repeat(" ", 70-len(s)) }

func TestPrinterResult(t *testing.T) {
	r := &Result{Disk: "virtio-X", Target: "/dev/vdb1", UUID: "u", Keyslots: 2, Mapper: "/dev/mapper/simplecloud",
		Ext4: Ext4Info{Label: "simplecloud"}, Mount: "/srv/simplecloud", Config: "/etc/simplecloud/simplecloud.toml", Handoff: "started"}
	var out bytes.Buffer
	if err := NewPrinter(&out, &out, false, false).Result(r); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(out.String(), "Installed: virtio-X is the SimpleCloud data disk.\n  volume      LUKS2 on /dev/vdb1, UUID u, 2 keyslot(s)\n") ||
		!strings.Contains(out.String(), "mounted at  /srv/simplecloud\n") {
		t.Errorf("got %q", out.String())
	}
	out.Reset()
	if err := NewPrinter(&out, &out, false, true).Result(r); err != nil {
		t.Fatal(err)
	}
	var got struct{ Result Result }
	if err := json.Unmarshal(out.Bytes(), &got); err != nil || got.Result.UUID != "u" {
		t.Errorf("got %q (%v), want {\"result\": ...}", out.String(), err)
	}
}
