package client

import (
	"strings"
	"testing"
)

func TestSSHFSArgs(t *testing.T) {
	def := strings.Join(SSHFSDefaults, ",")
	tests := []struct {
		remote, mnt string
		o           MountOptions
		want        string // argv joined by spaces; "" means an error
	}{
		{"alice@nas:", "/mnt/x", MountOptions{}, "alice@nas: /mnt/x -o " + def},
		{"alice@nas", "/mnt/x", MountOptions{Port: 2222}, "alice@nas: /mnt/x -o " + def + " -p 2222"},
		{"alice@nas:photos/2024", "m", MountOptions{Identity: "/k"}, "alice@nas:photos/2024 m -o " + def + ",IdentityFile=/k,IdentitiesOnly=yes"},
		{"bob@[::1]:/d", "m", MountOptions{Options: []string{"max_conns=4"}}, "bob@[::1]:/d m -o " + def + ",max_conns=4"},
		{"bob@[::1]", "m", MountOptions{}, "bob@[::1]: m -o " + def},
		{"nas:/x", "m", MountOptions{}, ""},
		{"@nas:/x", "m", MountOptions{}, ""},
		{"alice@:/x", "m", MountOptions{}, ""},
		{"alice@-oProxyCommand=x:/", "m", MountOptions{}, ""},
		{"alice@nas:", "-o", MountOptions{}, ""},
		{"alice@[::1", "m", MountOptions{}, ""},
		{"alice@[::1]x", "m", MountOptions{}, ""},
		{"alice@[]", "m", MountOptions{}, ""},
		{"ali:ce@nas", "m", MountOptions{}, ""},
		{"alice@nas", "", MountOptions{}, ""},
		{"alice@nas", "m", MountOptions{Port: 70000}, ""},
		{"alice@nas", "m", MountOptions{Port: -1}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.remote+" "+tc.mnt, func(t *testing.T) {
			argv, err := SSHFSArgs(tc.remote, tc.mnt, tc.o)
			if tc.want == "" {
				if err == nil {
					t.Fatalf("got %q, want an error", argv)
				}
				return
			}
			if got := strings.Join(argv, " "); err != nil || got != tc.want {
				t.Fatalf("got %q, %v; want %q", got, err, tc.want)
			}
		})
	}
}
