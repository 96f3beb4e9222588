package remote

import (
	"reflect"
	"testing"
)

func TestParseTarget(t *testing.T) {
	tests := []struct {
		in   string
		want Target
		bad  bool
	}{
		{in: "host:Sync", want: Target{Host: "host", Path: "Sync"}},
		{in: "alice@host:Sync/photos", want: Target{User: "alice", Host: "host", Path: "Sync/photos"}},
		{in: "alice@host:", want: Target{User: "alice", Host: "host"}},
		{in: "alice@[::1]:a", want: Target{User: "alice", Host: "[::1]", Path: "a"}},
		{in: "host:/abs/", want: Target{Host: "host", Path: "abs"}},
		{in: "host:~/x", want: Target{Host: "host", Path: "x"}},
		{in: "host:a:b", want: Target{Host: "host", Path: "a:b"}},
		{in: "./local", bad: true},
		{in: "host", bad: true},
		{in: "host:a/../b", bad: true},
		{in: "host:a//b", bad: true},
		{in: "-oProxyCommand=x:y", bad: true},
		{in: "@host:x", bad: true},
		{in: "[::1:x", bad: true},
	}
	for _, tt := range tests {
		got, err := ParseTarget(tt.in)
		if (err != nil) != tt.bad || got != tt.want {
			t.Errorf("ParseTarget(%q) = %+v, %v; want %+v, bad %v", tt.in, got, err, tt.want, tt.bad)
		}
	}
}

func TestSSHArgv(t *testing.T) {
	tests := []struct {
		o    SSHOptions
		t    Target
		want []string
	}{
		{SSHOptions{}, Target{Host: "h"}, []string{"ssh", "-s", "h", "simplecloud-sync"}},
		{SSHOptions{Port: 2222, Identity: "/k"}, Target{User: "u", Host: "[::1]"}, []string{"ssh", "-p", "2222", "-i", "/k", "-s", "u@::1", "simplecloud-sync"}},
		{SSHOptions{Command: `ssh -o "ProxyJump a b" -F 'my config' x\ y`}, Target{Host: "h"},
			[]string{"ssh", "-o", "ProxyJump a b", "-F", "my config", "x y", "-s", "h", "simplecloud-sync"}},
	}
	for _, tt := range tests {
		got, err := SSHArgv(tt.t, tt.o)
		if err != nil || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("SSHArgv(%+v) = %q, %v; want %q", tt.o, got, err, tt.want)
		}
	}
	for _, bad := range []SSHOptions{{Command: `ssh "x`}, {Command: "  "}, {Port: 70000}} {
		if _, err := SSHArgv(Target{Host: "h"}, bad); err == nil {
			t.Errorf("SSHArgv(%+v) succeeded", bad)
		}
	}
}
