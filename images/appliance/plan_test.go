package main

import (
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

var epoch = time.Unix(1796466729, 0)

func TestNewLayout(t *testing.T) {
	for _, tc := range []struct {
		name           string
		esp, root      int64
		wantErr        string
		wantSize       int64
		wantRootStart  uint64
		wantESPEnd     uint64
		wantRootOffset int64
	}{
		{name: "default", esp: 128 * MiB, root: 1536 * MiB, wantSize: (1 + 128 + 1536 + 1) * MiB,
			wantESPEnd: 2048 + 128*2048 - 1, wantRootStart: 2048 + 128*2048, wantRootOffset: 129 * MiB},
		{name: "small", esp: 64 * MiB, root: 512 * MiB, wantSize: (1 + 64 + 512 + 1) * MiB,
			wantESPEnd: 2048 + 64*2048 - 1, wantRootStart: 2048 + 64*2048, wantRootOffset: 65 * MiB},
		{name: "ESP too small", esp: 32 * MiB, root: 1024 * MiB, wantErr: "ESP size"},
		{name: "root not MiB", esp: 128 * MiB, root: 1024*MiB + 512, wantErr: "root size"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := DefaultSpec(epoch)
			s.ESPSize, s.RootSize = tc.esp, tc.root
			l, err := NewLayout(s)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("got error %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if l.Size != tc.wantSize {
				t.Errorf("size: got %d, want %d", l.Size, tc.wantSize)
			}
			if l.ESP.Start != 2048 || l.ESP.End != tc.wantESPEnd {
				t.Errorf("ESP: got %d-%d, want 2048-%d", l.ESP.Start, l.ESP.End, tc.wantESPEnd)
			}
			if l.Root.Start != tc.wantRootStart || l.Root.Offset() != tc.wantRootOffset || l.Root.Bytes() != tc.root {
				t.Errorf("root: got start %d offset %d bytes %d, want %d, %d, %d", l.Root.Start, l.Root.Offset(), l.Root.Bytes(),
					tc.wantRootStart, tc.wantRootOffset, tc.root)
			}
			// The backup GPT (33 sectors) fits after the root.
			if tail := l.Size/SectorSize - int64(l.Root.End) - 1; tail < 33 {
				t.Errorf("sectors after the root: got %d, want at least 33", tail)
			}
		})
	}
}

var uuidRE = regexp.MustCompile(`^[0-9A-F]{8}-[0-9A-F]{4}-4[0-9A-F]{3}-[89AB][0-9A-F]{3}-[0-9A-F]{12}$`)

// TestLayoutUUIDs: the UUIDs are well formed, distinct, the same for the
// same epoch and different for another.
func TestLayoutUUIDs(t *testing.T) {
	uuids := func(e time.Time) []string {
		l, err := NewLayout(DefaultSpec(e))
		if err != nil {
			t.Fatal(err)
		}
		return []string{l.DiskGUID, l.ESP.GUID, l.Root.GUID, l.RootFS, l.HashSeed}
	}
	a, b, c := uuids(epoch), uuids(epoch), uuids(epoch.Add(time.Second))
	for i, u := range a {
		if !uuidRE.MatchString(u) {
			t.Errorf("uuid %d: got %q, want a version 4 UUID", i, u)
		}
		if u != b[i] {
			t.Errorf("uuid %d: got %q and %q for the same epoch", i, u, b[i])
		}
		if u == c[i] {
			t.Errorf("uuid %d: got %q for another epoch too", i, u)
		}
		if slices.Index(a, u) != i {
			t.Errorf("uuid %d: %q is used twice", i, u)
		}
	}
}

func TestBootFiles(t *testing.T) {
	l, err := NewLayout(DefaultSpec(epoch))
	if err != nil {
		t.Fatal(err)
	}
	files := l.ESPFiles("6.1.0-50-cloud-amd64")
	entry := files["/loader/entries/simplecloud.conf"]
	for _, want := range []string{"linux /simplecloud/vmlinuz\n", "initrd /simplecloud/initrd.img\n",
		"options root=UUID=" + strings.ToLower(l.RootFS) + " ", "console=tty1 console=ttyS0,115200"} {
		if !strings.Contains(entry, want) {
			t.Errorf("loader entry:\n%s\nwant it to contain %q", entry, want)
		}
	}
	if conf := files["/loader/loader.conf"]; !strings.Contains(conf, "default simplecloud.conf\n") || !strings.Contains(conf, "editor no\n") {
		t.Errorf("loader.conf:\n%s", conf)
	}
	// Every file the entry names is copied to the ESP.
	copies := ESPCopies("6.1.0-50-cloud-amd64")
	for _, p := range []string{"/simplecloud/vmlinuz", "/simplecloud/initrd.img", "/EFI/BOOT/BOOTX64.EFI"} {
		if copies[p] == "" {
			t.Errorf("ESP copies: nothing for %s", p)
		}
	}
	if got, want := copies["/simplecloud/vmlinuz"], "/boot/vmlinuz-6.1.0-50-cloud-amd64"; got != want {
		t.Errorf("kernel: got %s, want %s", got, want)
	}
}

func TestRootFiles(t *testing.T) {
	s := DefaultSpec(epoch)
	l, err := NewLayout(s)
	if err != nil {
		t.Fatal(err)
	}
	byPath := map[string]RootFile{}
	for _, f := range l.RootFiles(s) {
		if _, dup := byPath[f.Path]; dup {
			t.Errorf("%s written twice", f.Path)
		}
		byPath[f.Path] = f
	}
	for _, tc := range []struct{ path, want string }{
		{"/etc/fstab", "UUID=" + strings.ToLower(l.RootFS) + " / ext4 "},
		{"/etc/fstab", "PARTUUID=" + strings.ToLower(l.ESP.GUID) + " /boot/efi vfat "},
		{"/etc/hostname", "simplecloud\n"},
		{"/etc/systemd/network/80-wired.network", "DHCP=yes"},
	} {
		if got := byPath[tc.path].Text; !strings.Contains(got, tc.want) {
			t.Errorf("%s:\n%s\nwant it to contain %q", tc.path, got, tc.want)
		}
	}
	if f, ok := byPath["/etc/machine-id"]; !ok || f.Text != "" {
		t.Errorf("/etc/machine-id: got %+v, want an empty file (first boot)", f)
	}
	for _, tty := range []string{"tty1", "ttyS0"} {
		p := "/etc/systemd/system/multi-user.target.wants/simplecloud-firstboot@" + tty + ".service"
		if got, want := byPath[p].Link, "/lib/systemd/system/simplecloud-firstboot@.service"; got != want {
			t.Errorf("%s: got link %q, want %q", p, got, want)
		}
	}
}

func TestBaseKey(t *testing.T) {
	a := DefaultSpec(epoch)
	b := DefaultSpec(epoch.Add(time.Hour)) // another commit: the same base
	c := DefaultSpec(epoch)
	c.Packages = append(c.Packages, "less")
	if BaseKey(a) != BaseKey(b) {
		t.Errorf("base key: got %s and %s for two commits, want one", BaseKey(a), BaseKey(b))
	}
	if BaseKey(a) == BaseKey(c) {
		t.Errorf("base key: got %s for another package list too", BaseKey(a))
	}
}

func TestToolArgs(t *testing.T) {
	s := DefaultSpec(epoch)
	l, err := NewLayout(s)
	if err != nil {
		t.Fatal(err)
	}
	m := strings.Join(MmdebstrapArgs(s, "/c/apt", "/c/base.tar"), " ")
	for _, want := range []string{"--variant=minbase", "--include=systemd,systemd-sysv,", "linux-image-cloud-amd64",
		"sync-in /c/apt /var/cache/apt/archives/", "sync-out /var/cache/apt/archives /c/apt", " bookworm /c/base.tar http://deb.debian.org/debian"} {
		if !strings.Contains(m, want) {
			t.Errorf("mmdebstrap %s\nwant %q", m, want)
		}
	}
	k := strings.Join(Mke2fsArgs(l, "/w/root", "/o/img"), " ")
	for _, want := range []string{"-U " + strings.ToLower(l.RootFS), "offset=135266304,", "hash_seed=" + strings.ToLower(l.HashSeed),
		"-d /w/root /o/img 1572864k"} {
		if !strings.Contains(k, want) {
			t.Errorf("mke2fs %s\nwant %q", k, want)
		}
	}
}

func TestKernelVersion(t *testing.T) {
	for _, tc := range []struct {
		names   []string
		want    string
		wantErr bool
	}{
		{[]string{"/r/boot/vmlinuz-6.1.0-50-cloud-amd64"}, "6.1.0-50-cloud-amd64", false},
		{nil, "", true},
		{[]string{"/r/boot/vmlinuz-6.1.0-49-cloud-amd64", "/r/boot/vmlinuz-6.1.0-50-cloud-amd64"}, "", true},
	} {
		got, err := KernelVersion(tc.names)
		if got != tc.want || (err != nil) != tc.wantErr {
			t.Errorf("KernelVersion(%v) = %q, %v; want %q, error %v", tc.names, got, err, tc.want, tc.wantErr)
		}
	}
}

func TestTimesScript(t *testing.T) {
	got, err := TimesScript(epoch, []string{"/", `/usr/lib/systemd/system/system-systemd\x2dcryptsetup.slice`})
	if err != nil {
		t.Fatal(err)
	}
	want := "sif \"/\" ctime @1796466729\nsif \"/\" atime @1796466729\n" +
		"sif \"/usr/lib/systemd/system/system-systemd\\x2dcryptsetup.slice\" ctime @1796466729\n" +
		"sif \"/usr/lib/systemd/system/system-systemd\\x2dcryptsetup.slice\" atime @1796466729\n"
	if got != want {
		t.Errorf("got:\n%s\nwant:\n%s", got, want)
	}
	if _, err := TimesScript(epoch, []string{"/a\"b"}); err == nil {
		t.Error("a name with a double quote: got no error")
	}
}
