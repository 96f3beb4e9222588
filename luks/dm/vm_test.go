//go:build vmtest

package dm_test

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"simplecloud/images"
	"simplecloud/images/vm"
	"simplecloud/images/vmtest"
	"simplecloud/internal/testutil"
	"simplecloud/luks/dm"
)

// guest wraps a booted machine with the helpers these tests share.
type guest struct {
	t *testing.T
	m *vm.Machine
}

func (g guest) run(stdin []byte, argv ...string) vm.Result {
	g.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	r, err := g.m.RunCmd(ctx, vm.Cmd{Argv: argv, Stdin: stdin})
	if err != nil {
		g.t.Fatalf("run %q: %v", argv, err)
	}
	return r
}

// sh runs a shell script and fails the test unless it exits 0.
func (g guest) sh(script string) string {
	g.t.Helper()
	r := g.run(nil, "sh", "-c", script)
	if r.Exit != 0 {
		g.t.Fatalf("%s: exit %d\n%s%s", script, r.Exit, r.Stdout, r.Stderr)
	}
	return string(r.Stdout)
}

// dmtool runs the test program and checks its exit status.
func (g guest) dmtool(stdin []byte, wantExit int, args ...string) vm.Result {
	g.t.Helper()
	r := g.run(stdin, append([]string{"/bin/dmtool"}, args...)...)
	if r.Exit != wantExit {
		g.t.Fatalf("dmtool %s: exit %d, want %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), r.Exit, wantExit, r.Stdout, r.Stderr)
	}
	return r
}

func decode[T any](g guest, args ...string) T {
	g.t.Helper()
	var v T
	r := g.dmtool(nil, 0, args...)
	if err := json.Unmarshal(r.Stdout, &v); err != nil {
		g.t.Fatalf("dmtool %s: %v\n%s", strings.Join(args, " "), err, r.Stdout)
	}
	return v
}

func (g guest) info(name string) dm.Info { g.t.Helper(); return decode[dm.Info](g, "info", name) }

// waitInfo polls the device's state until ok accepts it.
func (g guest) waitInfo(name, what string, ok func(dm.Info) bool) dm.Info {
	g.t.Helper()
	var info dm.Info
	testutil.Eventually(g.t, time.Minute, func() error {
		if info = g.info(name); !ok(info) {
			return fmt.Errorf("%s: %s never happened; last state %+v", name, what, info)
		}
		return nil
	})
	return info
}

// devOf returns the MAJ:MIN of a guest block device.
func (g guest) devOf(blk string) string {
	g.t.Helper()
	return strings.TrimSpace(g.sh("cat /sys/block/" + blk + "/dev"))
}

// listed reports whether List shows name.
func (g guest) listed(name string) bool {
	g.t.Helper()
	for _, d := range decode[[]dm.Device](g, "list") {
		if d.Name == name {
			return true
		}
	}
	return false
}

const (
	diskSize   = 64 << 20
	dataOffset = 2048 // sectors: 1 MiB
	dataLength = diskSize/512 - dataOffset
)

// TestVMDeviceMapper boots one guest and drives package dm through the
// dmtool program against the guest kernel, with cryptsetup as the oracle.
func TestVMDeviceMapper(t *testing.T) {
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	tool, err := images.BuildStatic(context.Background(), root, "./luks/dm/internal/dmtool", t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	m := vmtest.Boot(t, vmtest.Options{
		Options: vm.Options{Disks: []vm.Disk{
			{Size: diskSize, Serial: "SC-LUKS"}, // vda: cryptsetup's LUKS2 volume
			{Size: diskSize, Serial: "SC-DM"},   // vdb: our mappings
		}},
		Programs: []string{"cryptsetup"},
		Files:    []images.File{{Src: tool, Dst: "/bin/dmtool"}},
	})
	g := guest{t, m}

	key := make([]byte, 64) // aes-xts-plain64 with a 512-bit key
	for i := range key {
		key[i] = byte(i*7 + 1)
	}
	hexKey := []byte(hex.EncodeToString(key))
	if r := g.run(key, "sh", "-c", "cat > /key.bin"); r.Exit != 0 {
		t.Fatalf("write key file: %s", r.Stderr)
	}
	g.sh("dd if=/dev/urandom of=/pattern bs=4096 count=16 2>/dev/null")
	vdb := g.devOf("vdb")

	// Each step leaves the state the next one expects.
	for _, step := range []struct {
		name string
		run  func(guest)
	}{
		{"version", testVersion},
		{"create and inspect", func(g guest) { testCreate(g, hexKey, vdb) }},
		{"busy and deferred remove", func(g guest) { testBusy(g, hexKey) }},
		{"remove", func(g guest) { testRemove(g, hexKey) }},
		{"failures clean up", func(g guest) { testFailures(g, hexKey) }},
		{"list grows its buffer", func(g guest) { testManyDevices(g, hexKey) }},
		{"cryptsetup plain reads our data", func(g guest) { testPlainOracle(g, key, vdb) }},
		{"cryptsetup status sees ours", func(g guest) { testStatusOracle(g, hexKey) }},
		{"cryptsetup luks2", testLUKSOracle},
	} {
		testutil.Step(t, step.name, func(t *testing.T) { step.run(guest{t, m}) })
	}
}

func testVersion(g guest) {
	v := decode[string](g, "version")
	g.t.Logf("kernel %s, device-mapper interface %s", g.m.Kernel(), v)
	var major, minor, patch int
	if _, err := fmt.Sscanf(v, "%d.%d.%d", &major, &minor, &patch); err != nil || major != 4 || minor < 27 {
		g.t.Errorf("got interface version %q, want 4.27 or later", v)
	}
}

// create makes sc-dm on vdb: 4096-byte sectors, discards allowed.
func create(g guest, hexKey []byte, device string) {
	g.t.Helper()
	g.dmtool(hexKey, 0, "create", "-uuid", "CRYPT-PLAIN-sc-dm", "-sector-size", "4096", "-discards",
		"sc-dm", device, fmt.Sprint(dataOffset), fmt.Sprint(dataLength), "aes-xts-plain64")
}

func testCreate(g guest, hexKey []byte, vdb string) {
	create(g, hexKey, "/dev/vdb")
	info := g.info("sc-dm")
	g.t.Logf("created: %+v", info)
	if !info.Exists || info.Name != "sc-dm" || info.UUID != "CRYPT-PLAIN-sc-dm" || info.OpenCount != 0 ||
		info.TargetCount != 1 || info.Suspended || info.ReadOnly || info.DeferredRemove || info.Major == 0 {
		g.t.Errorf("info after create: %+v", info)
	}
	node := strings.Fields(g.sh("stat -c '%F %t %T %a' /dev/mapper/sc-dm"))
	want := []string{"block", "special", "file", fmt.Sprintf("%x", info.Major), fmt.Sprintf("%x", info.Minor), "600"}
	if strings.Join(node, " ") != strings.Join(want, " ") {
		g.t.Errorf("node /dev/mapper/sc-dm: got %q, want %q", node, want)
	}
	if sysName := strings.TrimSpace(g.sh(fmt.Sprintf("cat /sys/dev/block/%d:%d/dm/name", info.Major, info.Minor))); sysName != "sc-dm" {
		g.t.Errorf("sysfs names the device %q, want sc-dm", sysName)
	}

	deps := decode[[]dm.Dev](g, "deps", "sc-dm")
	if len(deps) != 1 || deps[0].String() != vdb {
		g.t.Errorf("deps: got %v, want [%s]", deps, vdb)
	}

	wantLine := fmt.Sprintf("aes-xts-plain64 %s 0 %s %d 2 allow_discards sector_size:4096", hexKey, vdb, dataOffset)
	masked := strings.Replace(wantLine, string(hexKey), strings.Repeat("0", len(hexKey)), 1)
	table := decode[[]dm.Target](g, "table", "sc-dm")
	if want := []dm.Target{{Start: 0, Length: dataLength, Type: "crypt", Params: masked}}; !equalTargets(table, want) {
		g.t.Errorf("table: got %+v, want %+v", table, want)
	}
	table = decode[[]dm.Target](g, "table-keys", "sc-dm")
	if len(table) != 1 || table[0].Params != wantLine {
		g.t.Errorf("table with keys: got %+v, want params %q", table, wantLine)
	}

	// Data goes through encrypted: the raw disk does not hold the pattern,
	// the mapping gives it back.
	g.sh("dd if=/pattern of=/dev/mapper/sc-dm bs=4096 conv=fsync 2>/dev/null")
	if r := g.run(nil, "sh", "-c", "dd if=/dev/vdb bs=4096 skip=256 count=16 2>/dev/null | cmp -s - /pattern"); r.Exit == 0 {
		g.t.Error("the pattern is on /dev/vdb in clear")
	}
	g.sh("dd if=/dev/mapper/sc-dm bs=4096 count=16 2>/dev/null | cmp - /pattern")
	if !g.listed("sc-dm") {
		g.t.Error("list does not show sc-dm")
	}
}

func equalTargets(a, b []dm.Target) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func testBusy(g guest, hexKey []byte) {
	holder, err := g.m.StartCmd(vm.Cmd{Argv: []string{"sh", "-c", "exec 3</dev/mapper/sc-dm; exec sleep 600"}})
	if err != nil {
		g.t.Fatal(err)
	}
	g.waitInfo("sc-dm", "open by the holder", func(i dm.Info) bool { return i.OpenCount == 1 })

	r := g.dmtool(nil, 3, "remove", "sc-dm")
	if !strings.Contains(string(r.Stderr), "in use") {
		g.t.Errorf("remove of a busy device: stderr %q, want it to say the device is in use", r.Stderr)
	}
	if info := g.info("sc-dm"); !info.Exists || info.DeferredRemove {
		g.t.Errorf("after a refused remove: %+v, want it there and not marked", info)
	}

	g.dmtool(nil, 0, "remove-deferred", "sc-dm")
	if info := g.info("sc-dm"); !info.Exists || !info.DeferredRemove || info.OpenCount != 1 {
		g.t.Errorf("after remove-deferred: %+v, want it there, open and marked", info)
	}
	g.dmtool(nil, 0, "cancel-deferred", "sc-dm")
	if info := g.info("sc-dm"); !info.Exists || info.DeferredRemove {
		g.t.Errorf("after cancel-deferred: %+v, want it there and not marked", info)
	}

	g.dmtool(nil, 0, "remove-deferred", "sc-dm")
	stop(g, holder)
	g.waitInfo("sc-dm", "removal when the holder exits", func(i dm.Info) bool { return !i.Exists })
	if g.listed("sc-dm") {
		g.t.Error("list still shows sc-dm after its deferred removal")
	}
	g.dmtool(nil, 4, "cancel-deferred", "sc-dm")
	// The node is left behind; a remove of the name clears it away.
	g.sh("test -b /dev/mapper/sc-dm")
	g.dmtool(nil, 4, "remove", "sc-dm")
	g.sh("test ! -e /dev/mapper/sc-dm")

	// A stale node is replaced when the name is used again, and the new
	// device decrypts what the first one wrote.
	g.sh("mknod -m 600 /dev/mapper/sc-dm b 253 200")
	create(g, hexKey, "/dev/vdb")
	g.sh("dd if=/dev/mapper/sc-dm bs=4096 count=16 2>/dev/null | cmp - /pattern")
}

// stop kills a holder process and waits until it is gone.
func stop(g guest, p *vm.Process) {
	g.t.Helper()
	if err := p.Signal(syscall.SIGKILL); err != nil {
		g.t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := p.Wait(ctx); err != nil {
		g.t.Fatal(err)
	}
}

func testRemove(g guest, hexKey []byte) {
	g.dmtool(hexKey, 5, "create", "sc-dm", "/dev/vdb", "0", "8", "aes-xts-plain64")
	if info := g.info("sc-dm"); !info.Exists || info.UUID != "CRYPT-PLAIN-sc-dm" {
		g.t.Errorf("a refused create touched the existing device: %+v", info)
	}
	g.dmtool(nil, 0, "remove", "sc-dm")
	if info := g.info("sc-dm"); info.Exists {
		g.t.Errorf("after remove: %+v", info)
	}
	g.sh("test ! -e /dev/mapper/sc-dm")
	g.dmtool(nil, 4, "remove", "sc-dm")
	g.dmtool(nil, 4, "remove-deferred", "sc-dm")
	g.dmtool(nil, 4, "table", "sc-dm")
	g.dmtool(nil, 4, "deps", "sc-dm")

	// Read-only, by MAJ:MIN: the kernel refuses writes.
	g.dmtool(hexKey, 0, "create", "-ro", "sc-ro", g.devOf("vdb"), "0", "8", "aes-xts-plain64")
	if info := g.info("sc-ro"); !info.ReadOnly {
		g.t.Errorf("read-only mapping: %+v", info)
	}
	if r := g.run(nil, "sh", "-c", "dd if=/pattern of=/dev/mapper/sc-ro bs=4096 count=1 conv=fsync"); r.Exit == 0 {
		g.t.Error("a write to a read-only mapping succeeded")
	}
	g.dmtool(nil, 0, "remove", "sc-ro")
}

func testFailures(g guest, hexKey []byte) {
	for _, c := range []struct{ name, device, cipher string }{
		{"sc-bad-cipher", "/dev/vdb", "nosuchcipher-xts-plain64"},
		{"sc-bad-device", "/dev/nonexistent", "aes-xts-plain64"},
	} {
		r := g.dmtool(hexKey, 1, "create", c.name, c.device, "0", "8", c.cipher)
		if bytes.Contains(r.Stderr, hexKey) || bytes.Contains(r.Stdout, hexKey) {
			g.t.Errorf("%s: the key appears in the output: %s", c.name, r.Stderr)
		}
		// The kernel's reason, from its log, is in the error.
		g.t.Logf("%s: %s", c.name, r.Stderr)
		if !regexp.MustCompile(`kernel: table: 253:\d+: crypt: `).Match(r.Stderr) {
			g.t.Errorf("%s: the error does not give the kernel's reason: %s", c.name, r.Stderr)
		}
		if info := g.info(c.name); info.Exists {
			g.t.Errorf("%s: left behind after a failed create: %+v", c.name, info)
		}
		if g.listed(c.name) {
			g.t.Errorf("%s: still listed after a failed create", c.name)
		}
		g.sh("test ! -e /dev/mapper/" + c.name)
	}
	// What the package refuses before the kernel sees it.
	g.dmtool(hexKey, 1, "create", "control", "/dev/vdb", "0", "8", "aes-xts-plain64")
	g.dmtool(hexKey, 1, "create", "-sector-size", "4096", "sc-odd", "/dev/vdb", "0", "9", "aes-xts-plain64")
}

// testManyDevices lists more devices than fit in the first 16 KiB buffer:
// 64 entries of 280 bytes (116-byte names, 128-byte uuids).
func testManyDevices(g guest, hexKey []byte) {
	const n = 64
	prefix := "sc-many-" + strings.Repeat("x", 105)
	uuid := "CRYPT-PLAIN-" + strings.Repeat("y", 113)
	g.dmtool(hexKey, 0, "create", "-count", fmt.Sprint(n), "-uuid", uuid, prefix, "/dev/vdb", "0", "8", "aes-xts-plain64")
	seen := map[string]string{}
	for _, d := range decode[[]dm.Device](g, "list") {
		seen[d.Name] = d.UUID
	}
	var names []string
	for i := range n {
		name, u := fmt.Sprintf("%s-%02d", prefix, i), fmt.Sprintf("%s-%02d", uuid, i)
		if got, ok := seen[name]; !ok || got != u {
			g.t.Errorf("list: %s has uuid %q (listed: %v), want %s", name, got, ok, u)
		}
		names = append(names, name)
	}
	g.dmtool(nil, 0, append([]string{"remove"}, names...)...)
	for _, d := range decode[[]dm.Device](g, "list") {
		if strings.HasPrefix(d.Name, "sc-many-") {
			g.t.Errorf("%s still listed after its removal", d.Name)
		}
	}
}

// testPlainOracle opens with cryptsetup what we wrote: same key, cipher,
// offset and sector size must read back the pattern, and our Info and
// Table must describe cryptsetup's mapping as cryptsetup made it.
func testPlainOracle(g guest, key []byte, vdb string) {
	g.sh(fmt.Sprintf("cryptsetup open --type plain --cipher aes-xts-plain64 --key-size 512 --key-file /key.bin "+
		"--offset %d --sector-size 4096 /dev/vdb cs-plain", dataOffset))
	g.sh("dd if=/dev/mapper/cs-plain bs=4096 count=16 2>/dev/null | cmp - /pattern")

	info := g.info("cs-plain")
	if !info.Exists || !strings.HasPrefix(info.UUID, "CRYPT-PLAIN-") || info.TargetCount != 1 {
		g.t.Errorf("info of cryptsetup's mapping: %+v", info)
	}
	if deps := decode[[]dm.Dev](g, "deps", "cs-plain"); len(deps) != 1 || deps[0].String() != vdb {
		g.t.Errorf("deps of cryptsetup's mapping: %v, want [%s]", deps, vdb)
	}
	table := decode[[]dm.Target](g, "table-keys", "cs-plain")
	if len(table) != 1 {
		g.t.Fatalf("table of cryptsetup's mapping: %+v", table)
	}
	c, err := dm.ParseCrypt(table[0])
	if err != nil {
		g.t.Fatal(err)
	}
	if c.Cipher != "aes-xts-plain64" || !bytes.Equal(c.Key, key) || c.Offset != dataOffset ||
		c.SectorSize != 4096 || c.Length != dataLength || c.Device != vdb {
		g.t.Errorf("cryptsetup's table %q read as %+v", table[0].Params, c)
	}
	masked := decode[[]dm.Target](g, "table", "cs-plain")
	if len(masked) != 1 || strings.Contains(masked[0].Params, hex.EncodeToString(key)) {
		g.t.Errorf("masked table of cryptsetup's mapping shows the key: %+v", masked)
	}

	// We remove what cryptsetup made, node included.
	g.dmtool(nil, 0, "remove", "cs-plain")
	g.sh("test ! -e /dev/mapper/cs-plain")
	if r := g.run(nil, "cryptsetup", "status", "cs-plain"); r.Exit == 0 {
		g.t.Errorf("cryptsetup still sees cs-plain: %s", r.Stdout)
	}
}

// testStatusOracle checks that cryptsetup recognises a mapping we made with
// a CRYPT-PLAIN- uuid and reads its parameters as we set them.
func testStatusOracle(g guest, hexKey []byte) {
	create(g, hexKey, "/dev/vdb")
	out := g.sh("cryptsetup status sc-dm")
	g.t.Logf("cryptsetup status of our mapping:\n%s", out)
	for _, want := range []string{
		`is active`, `type:\s+PLAIN`, `cipher:\s+aes-xts-plain64`, `keysize:\s+512 bits`,
		`device:\s+/dev/vdb`, `sector size:\s+4096`, `offset:\s+2048 sectors`, `size:\s+129024 sectors`,
		`mode:\s+read/write`, `discards`,
	} {
		if !regexp.MustCompile(want).MatchString(out) {
			g.t.Errorf("cryptsetup status does not match %q:\n%s", want, out)
		}
	}
	g.sh("cryptsetup close sc-dm")
	if info := g.info("sc-dm"); info.Exists {
		g.t.Errorf("cryptsetup close left %+v", info)
	}
}

// testLUKSOracle opens a LUKS2 volume with cryptsetup and checks what our
// queries see; a holder keeps it busy for a deferred remove.
func testLUKSOracle(g guest) {
	if r := g.run([]byte("luks-test-passphrase"), "sh", "-c", "cat > /pass"); r.Exit != 0 {
		g.t.Fatalf("write passphrase file: %s", r.Stderr)
	}
	g.sh("cryptsetup luksFormat --type luks2 --pbkdf pbkdf2 --pbkdf-force-iterations 1000 --batch-mode " +
		"--key-file /pass /dev/vda && cryptsetup open --key-file /pass /dev/vda cs-luks")
	luksUUID := strings.ReplaceAll(strings.TrimSpace(g.sh("cryptsetup luksUUID /dev/vda")), "-", "")
	info := g.info("cs-luks")
	if want := "CRYPT-LUKS2-" + luksUUID + "-cs-luks"; !info.Exists || info.UUID != want {
		g.t.Errorf("info of cryptsetup's LUKS2 mapping: %+v, want uuid %s", info, want)
	}
	table := decode[[]dm.Target](g, "table", "cs-luks")
	if len(table) != 1 || table[0].Type != "crypt" || !strings.HasPrefix(table[0].Params, "aes-xts-plain64 ") {
		g.t.Fatalf("table of cryptsetup's LUKS2 mapping: %+v", table)
	}
	g.t.Logf("cryptsetup's LUKS2 mapping: %+v, table %+v", info, table)
	c, err := dm.ParseCrypt(table[0])
	if err != nil {
		g.t.Fatal(err)
	}
	// cryptsetup's defaults: 16 MiB of header, a 512-bit key, in the
	// kernel keyring or masked; either way zeros of the key's length.
	if c.Offset != 32768 || !bytes.Equal(c.Key, make([]byte, 64)) {
		g.t.Errorf("cryptsetup's LUKS2 table %q read as %+v", table[0].Params, c)
	}
	if deps := decode[[]dm.Dev](g, "deps", "cs-luks"); len(deps) != 1 || deps[0].String() != g.devOf("vda") {
		g.t.Errorf("deps of cs-luks: %v", deps)
	}

	holder, err := g.m.StartCmd(vm.Cmd{Argv: []string{"sh", "-c", "exec 3</dev/mapper/cs-luks; exec sleep 600"}})
	if err != nil {
		g.t.Fatal(err)
	}
	g.waitInfo("cs-luks", "open by the holder", func(i dm.Info) bool { return i.OpenCount == 1 })
	g.dmtool(nil, 3, "remove", "cs-luks")
	g.dmtool(nil, 0, "remove-deferred", "cs-luks")
	if info := g.info("cs-luks"); !info.DeferredRemove {
		g.t.Errorf("after remove-deferred: %+v, want it marked", info)
	}
	stop(g, holder)
	g.waitInfo("cs-luks", "removal when the holder exits", func(i dm.Info) bool { return !i.Exists })
	if r := g.run(nil, "cryptsetup", "status", "cs-luks"); r.Exit == 0 {
		g.t.Errorf("cryptsetup still sees cs-luks: %s", r.Stdout)
	}
}
