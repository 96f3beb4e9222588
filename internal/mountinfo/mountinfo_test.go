package mountinfo

import (
	"reflect"
	"strings"
	"testing"
)

func TestUnescape(t *testing.T) {
	cases := map[string]string{
		`/mnt/a\040b`:   "/mnt/a b",
		`/x\011y\134z`:  "/x\ty\\z",
		`/plain`:        "/plain",
		`/short\04`:     `/short\04`,
		`/notoctal\09x`: `/notoctal\09x`,
	}
	for in, want := range cases {
		if got := Unescape(in); got != want {
			t.Errorf("Unescape(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestParseMountinfo(t *testing.T) {
	table := `22 1 8:2 / / rw,relatime shared:1 - ext4 /dev/sda2 rw
35 22 253:0 /sub /mnt/my\040data rw master:3 unbindable - ext4 /dev/mapper/things rw
`
	got, err := ParseMountinfo(strings.NewReader(table))
	if err != nil {
		t.Fatal(err)
	}
	want := []Entry{
		{ID: 22, Parent: 1, Dev: "8:2", Root: "/", MountPoint: "/", FSType: "ext4", Source: "/dev/sda2"},
		{ID: 35, Parent: 22, Dev: "253:0", Root: "/sub", MountPoint: "/mnt/my data", FSType: "ext4", Source: "/dev/mapper/things"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v\nwant %+v", got, want)
	}
	for _, bad := range []string{"22 1 8:2 / / rw\n", "x 1 8:2 / / rw - ext4 /dev/sda2 rw\n", "22 1 82 / / rw - ext4 /dev/sda2 rw\n"} {
		if _, err := ParseMountinfo(strings.NewReader(bad)); err == nil {
			t.Errorf("ParseMountinfo(%q): got nil error", bad)
		}
	}
}

func TestParseMountsAndSwaps(t *testing.T) {
	m, err := ParseMounts(strings.NewReader("/dev/vda /mnt/a\\040b ext4 rw 0 0\nshort\n"))
	if err != nil || len(m) != 1 || m[0].MountPoint != "/mnt/a b" || m[0].Source != "/dev/vda" || m[0].FSType != "ext4" {
		t.Errorf("ParseMounts: got %+v, %v", m, err)
	}
	s, err := ParseSwaps(strings.NewReader("Filename\tType\tSize\tUsed\tPriority\n/swap\\040file file 1024 0 -2\n/dev/vdb partition 2048 0 -3\n"))
	if err != nil || !reflect.DeepEqual(s, []string{"/swap file", "/dev/vdb"}) {
		t.Errorf("ParseSwaps: got %q, %v", s, err)
	}
}
