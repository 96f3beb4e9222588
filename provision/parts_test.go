package provision

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/diskfs/go-diskfs/partition/gpt"
)

func TestParseDumpe2fs(t *testing.T) {
	b, err := os.ReadFile("testdata/dumpe2fs.txt") // real dumpe2fs -h of mke2fs -t ext4 -m 0 -L simplecloud
	if err != nil {
		t.Fatal(err)
	}
	info, err := ParseDumpe2fs(b)
	if err != nil {
		t.Fatal(err)
	}
	if info.Label != "simplecloud" || info.ReservedBlocks != 0 || info.BlockCount != 32768 || !info.IsExt4() {
		t.Errorf("got %+v, want label simplecloud, 0 reserved of 32768 blocks, ext4", info)
	}
	bad := strings.Replace(string(b), "Reserved block count:     0", "Reserved block count:     1638", 1)
	if info, _ := ParseDumpe2fs([]byte(bad)); info.ReservedBlocks != 1638 {
		t.Errorf("got %d reserved blocks, want 1638", info.ReservedBlocks)
	}
	if _, err := ParseDumpe2fs([]byte("Filesystem volume name: x\n")); err == nil {
		t.Error("got no error for output without a block count")
	}
}

func TestLUKSPartition(t *testing.T) {
	for _, tc := range []struct {
		size              int64
		logical, physical int
		start, end        uint64
	}{
		{256 << 20, 512, 512, 2048, 256<<11 - 2048 - 1},
		{256 << 20, 4096, 4096, 256, 256<<8 - 256 - 1},
		{(256 << 20) + 12345*512, 512, 4096, 2048, 256<<11 + 12288 - 1},
	} {
		tab, err := LUKSPartition(tc.size, tc.logical, tc.physical)
		if err != nil {
			t.Fatal(err)
		}
		p := tab.Partitions[0]
		if p.Start != tc.start || p.End != tc.end || p.Type != gpt.LinuxLUKS {
			t.Errorf("size %d/%d: got %d-%d %s, want %d-%d Linux LUKS", tc.size, tc.logical, p.Start, p.End, p.Type, tc.start, tc.end)
		}
	}
	if _, err := LUKSPartition(2<<20, 512, 512); err == nil {
		t.Error("got a partition on a 2 MiB disk, want too small")
	}
}

// TestLUKSPartitionPartx writes the table to an image and has partx (util-
// linux, the reference) read it back.
func TestLUKSPartitionPartx(t *testing.T) {
	img := filepath.Join(t.TempDir(), "d.img")
	const size = 64 << 20
	f, err := os.Create(img)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := f.Truncate(size); err != nil {
		t.Fatal(err)
	}
	tab, _ := LUKSPartition(size, 512, 512)
	if err := tab.Write(f, size); err != nil {
		t.Fatal(err)
	}
	out, err := runTool(t, "partx", "--show", "--output", "NR,START,END,TYPE,NAME", "--noheadings", img)
	if err != nil {
		t.Fatal(err)
	}
	want := "1 2048 129023 ca7d7ccb-63ed-4c53-861c-1742536059cc simplecloud"
	if got := strings.Join(strings.Fields(out), " "); got != want {
		t.Errorf("partx --show: got %q, want %q", got, want)
	}
}

func TestConfigRoundTrip(t *testing.T) {
	c := &Config{
		Volume: VolumeConfig{UUID: "u-u-i-d", Label: "simplecloud", Name: "simplecloud", Mount: "/srv/simplecloud", Disk: "virtio-X"},
		Unlock: UnlockConfig{Tries: 3, Timeout: 90 * time.Second},
		Server: ServerConfig{Listen: ":2222"},
	}
	b, err := c.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "simplecloud.toml")
	if err := writeFileAtomic(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := LoadConfig(path)
	if err != nil {
		t.Fatal(err)
	}
	if *got != *c {
		t.Errorf("got %+v, want %+v", *got, *c)
	}
	if !strings.Contains(string(b), `timeout = "1m30s"`) {
		t.Errorf("timeout not written as a duration:\n%s", b)
	}
	if _, err := LoadConfig(filepath.Join(t.TempDir(), "none.toml")); !errors.Is(err, ErrNoConfig) {
		t.Errorf("missing file: got %v, want ErrNoConfig", err)
	}
	// A file as the package ships it: comments, or server settings alone.
	for _, body := range []string{"# [server]\n# listen = \":2222\"\n", "[server]\nlisten = \":2200\"\n"} {
		os.WriteFile(path, []byte(body), 0o644)
		if _, err := LoadConfig(path); !errors.Is(err, ErrNoConfig) {
			t.Errorf("no [volume] in %q: got %v, want ErrNoConfig", body, err)
		}
	}
	// The rest of [server] is the server's: it reads and checks it.
	withServer := strings.Replace(string(b), "[server]\n", "[server]\nallow_users = [\"alice\"]\n", 1)
	os.WriteFile(path, []byte(withServer), 0o644)
	if got, err := LoadConfig(path); err != nil || got.Server.Listen != ":2222" {
		t.Errorf("with more server settings: got %+v, %v", got, err)
	}
	os.WriteFile(path, append(b, "\n[volume2]\nx = 1\n"...), 0o644)
	if _, err := LoadConfig(path); err == nil || !strings.Contains(err.Error(), "unknown key volume2") {
		t.Errorf("unknown key: got %v", err)
	}
	os.WriteFile(path, []byte("[volume]\nuuid = \"x\"\nname = \"n\"\nmount = \"rel\"\n"), 0o644)
	if _, err := LoadConfig(path); err == nil || !strings.Contains(err.Error(), "not an absolute path") {
		t.Errorf("relative mount: got %v", err)
	}
}

func TestMountedIn(t *testing.T) {
	table := []byte("/dev/vda / ext4 rw 0 0\n/dev/mapper/x /srv/my\\040data ext4 rw 0 0\n")
	for target, want := range map[string]bool{"/": true, "/srv/my data": true, "/srv/my": false, "/srv/my data/": true} {
		if got := mountedIn(table, target); got != want {
			t.Errorf("got mounted %v for %q, want %v", got, target, want)
		}
	}
}

func TestEventString(t *testing.T) {
	for _, tc := range []struct {
		e    Event
		want string
	}{
		{Event{Step: StepWipe, Kind: EventProgress, Done: 1 << 29, Total: 1 << 30, RatePerSec: 100 << 20, ETASeconds: 5, Message: "write"}, "wipe: 50.0%, 100 MiB/s, 5s left (write)"},
		{Event{Step: StepMkfs, Kind: EventStarted}, "mkfs: started"},
		{Event{Step: StepOpen, Kind: EventFailed, Error: "boom"}, "open: failed: boom"},
		{Event{Step: StepFormat, Kind: EventInfo, Message: "LUKS UUID x"}, "format: info: LUKS UUID x"},
	} {
		if got := tc.e.String(); got != tc.want {
			t.Errorf("got %q, want %q", got, tc.want)
		}
	}
}

func TestUnits(t *testing.T) {
	c := &Config{Volume: VolumeConfig{Mount: "/srv/simplecloud"}, Server: ServerConfig{Listen: ":2222"}}
	u := Units("/usr/local/bin/simplecloud", "/etc/simplecloud/simplecloud.toml", c)
	for name, want := range map[string]string{
		UnlockUnit:        "ExecStart=/usr/local/bin/simplecloud unlock --serve --config /etc/simplecloud/simplecloud.toml\n",
		UnlockUnit + "  ": "Type=notify\n",
		ServeUnit:         "After=simplecloud-unlock.service network-online.target\n",
		ServeUnit + " ":   "ExecStart=/usr/local/bin/simplecloud serve --config /etc/simplecloud/simplecloud.toml --root /srv/simplecloud\n",
		ServeUnit + "  ":  "Type=notify\n",
		UnlockUnit + " ":  "ConditionFileIsExecutable=/usr/local/bin/simplecloud\n",
		ServeUnit + "   ": "ConditionFileIsExecutable=/usr/local/bin/simplecloud\n",
	} {
		if !strings.Contains(u[strings.TrimSpace(name)], want) {
			t.Errorf("%s lacks %q:\n%s", name, want, u[name])
		}
	}
	// Under systemd the unlock asks through the password agents: no
	// terminal of its own.
	for _, unwanted := range []string{"StandardInput=tty", "TTYPath="} {
		if strings.Contains(u[UnlockUnit], unwanted) {
			t.Errorf("%s has %q:\n%s", UnlockUnit, unwanted, u[UnlockUnit])
		}
	}
	// The first-boot installer holds its console's getty back until it is
	// done, runs after the unlock prompt, and never hangs up the console
	// (ttyS0 is /dev/console, where the prompt asks).
	fb := u[FirstbootUnit]
	for _, want := range []string{"Before=getty@%i.service serial-getty@%i.service", " " + UnlockUnit + "\n", "TTYPath=/dev/%I\n",
		"ExecStart=/usr/local/bin/simplecloud firstboot --config /etc/simplecloud/simplecloud.toml --tty /dev/%I\n", "Type=oneshot\n",
		"SuccessExitStatus=SIGTERM\n"} {
		if !strings.Contains(fb, want) {
			t.Errorf("%s lacks %q:\n%s", FirstbootUnit, want, fb)
		}
	}
	if strings.Contains(fb, "TTYVHangup") {
		t.Errorf("%s hangs up its console:\n%s", FirstbootUnit, fb)
	}
}

// TestUnitsVerify has systemd-analyze, the reference, check the units.
func TestUnitsVerify(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "simplecloud")
	os.WriteFile(bin, []byte("#!/bin/sh\n"), 0o755)
	c := &Config{Volume: VolumeConfig{Mount: "/srv/simplecloud"}, Server: ServerConfig{Listen: ":2222"}}
	var paths []string
	for name, text := range Units(bin, filepath.Join(dir, "simplecloud.toml"), c) {
		p := filepath.Join(dir, name)
		os.WriteFile(p, []byte(text), 0o644)
		paths = append(paths, p)
	}
	runTool(t, "systemd-analyze", "--version") // skips when it is missing
	b, err := exec.Command("systemd-analyze", append([]string{"verify", "--man=no"}, paths...)...).CombinedOutput()
	out := string(b) // warnings come on stderr
	if err != nil {
		t.Fatalf("systemd-analyze verify: %v\n%s", err, out)
	}
	if strings.Contains(out, dir) {
		t.Errorf("systemd-analyze verify warns:\n%s", out)
	}
}

// TestUnlockBeforeWallAgent checks the unlock unit against systemd's own
// systemd-ask-password-wall.service (where systemd is installed): the wall
// agent stops the console's agent when it starts, so it must not start
// while the unlock asks, and the unlock must be ordered before a unit the
// wall agent waits for (systemd-user-sessions.service in systemd 252).
func TestUnlockBeforeWallAgent(t *testing.T) {
	b, err := os.ReadFile("/lib/systemd/system/systemd-ask-password-wall.service")
	if err != nil {
		t.Skipf("systemd's wall agent unit: %v", err)
	}
	wall := unitList(string(b), "After")
	if len(wall) == 0 {
		t.Fatalf("systemd-ask-password-wall.service is ordered after nothing:\n%s", b)
	}
	c := &Config{Volume: VolumeConfig{Mount: "/srv/simplecloud"}}
	before := unitList(Units("/usr/bin/simplecloud", "/etc/simplecloud/simplecloud.toml", c)[UnlockUnit], "Before")
	for _, w := range wall {
		if slices.Contains(before, w) {
			return
		}
	}
	t.Errorf("%s is before %v, none of what the wall agent waits for (%v): the wall agent would stop the console's prompt",
		UnlockUnit, before, wall)
}

// unitList returns the units named by every key= line of a unit file.
func unitList(text, key string) []string {
	var units []string
	for _, line := range strings.Split(text, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), key+"="); ok {
			units = append(units, strings.Fields(v)...)
		}
	}
	return units
}
