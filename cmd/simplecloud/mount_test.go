package main

import (
	"strings"
	"testing"
)

func TestSSHFSArgs(t *testing.T) {
	def := strings.Join(sshfsDefaults, ",")
	tests := []struct {
		remote, mnt string
		o           mountOpts
		want        string // argv joined by spaces; "" means an error
	}{
		{"alice@nas:", "/mnt/x", mountOpts{}, "alice@nas: /mnt/x -o " + def},
		{"alice@nas", "/mnt/x", mountOpts{port: 2222}, "alice@nas: /mnt/x -o " + def + " -p 2222"},
		{"alice@nas:photos/2024", "m", mountOpts{identity: "/k"}, "alice@nas:photos/2024 m -o " + def + ",IdentityFile=/k,IdentitiesOnly=yes"},
		{"bob@[::1]:/d", "m", mountOpts{options: []string{"max_conns=4"}}, "bob@[::1]:/d m -o " + def + ",max_conns=4"},
		{"bob@[::1]", "m", mountOpts{}, "bob@[::1]: m -o " + def},
		{"nas:/x", "m", mountOpts{}, ""},
		{"@nas:/x", "m", mountOpts{}, ""},
		{"alice@:/x", "m", mountOpts{}, ""},
		{"alice@-oProxyCommand=x:/", "m", mountOpts{}, ""},
		{"alice@nas:", "-o", mountOpts{}, ""},
		{"alice@[::1", "m", mountOpts{}, ""},
		{"alice@nas", "m", mountOpts{port: 70000}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.remote+" "+tc.mnt, func(t *testing.T) {
			argv, err := sshfsArgs(tc.remote, tc.mnt, tc.o)
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
