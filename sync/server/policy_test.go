package server

import (
	"testing"
	"time"
)

func TestPolicy(t *testing.T) {
	alice := Account{Name: "alice", UID: 1000, GroupNames: []string{"alice", "staff"}}
	root := Account{Name: "root", UID: 0, GroupNames: []string{"root"}}
	tests := []struct {
		name string
		cfg  Config
		acct Account
		want bool
	}{
		{"default allows a user", Config{}, alice, true},
		{"root refused by default", Config{}, root, false},
		{"root permitted", Config{PermitRoot: true}, root, true},
		{"deny user", Config{DenyUsers: []string{"alice"}}, alice, false},
		{"allow list without user", Config{AllowUsers: []string{"bob"}}, alice, false},
		{"allow list with user", Config{AllowUsers: []string{"bob", "alice"}}, alice, true},
		{"deny group", Config{DenyGroups: []string{"staff"}}, alice, false},
		{"allow group hit", Config{AllowGroups: []string{"staff"}}, alice, true},
		{"allow group miss", Config{AllowGroups: []string{"wheel"}}, alice, false},
		{"deny beats allow", Config{AllowUsers: []string{"alice"}, DenyGroups: []string{"alice"}}, alice, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, why := policy(tc.cfg, tc.acct)
			if got != tc.want {
				t.Fatalf("got %v (%s), want %v", got, why, tc.want)
			}
			if !got && why == "" {
				t.Error("refusal without a reason")
			}
		})
	}
}

func TestBackoff(t *testing.T) {
	now := time.Unix(1e9, 0)
	b := newBackoff(3, time.Minute)
	b.now = func() time.Time { return now }
	for i := range 2 {
		b.fail("a")
		if d := b.blocked("a"); d != 0 {
			t.Fatalf("after %d failures: got blocked %v, want 0", i+1, d)
		}
	}
	wants := []time.Duration{time.Second, 2 * time.Second, 4 * time.Second}
	for i, want := range wants {
		b.fail("a")
		if d := b.blocked("a"); d != want {
			t.Fatalf("after %d failures: got %v, want %v", i+3, d, want)
		}
	}
	if d := b.blocked("b"); d != 0 {
		t.Errorf("other address: got %v, want 0", d)
	}
	for range 40 {
		b.fail("a")
	}
	if d := b.blocked("a"); d != time.Minute {
		t.Errorf("after many failures: got %v, want the cap %v", d, time.Minute)
	}
	now = now.Add(2 * time.Minute)
	if d := b.blocked("a"); d != 0 {
		t.Errorf("after the wait: got %v, want 0", d)
	}
	b.fail("a")
	b.succeed("a")
	if d := b.blocked("a"); d != 0 {
		t.Errorf("after success: got %v, want 0", d)
	}
}

func TestRelPath(t *testing.T) {
	tests := map[string]string{
		"/": ".", "": ".", "/a/b": "a/b", "a/../../b": "b", "/../../etc/passwd": "etc/passwd",
		"//x//y/": "x/y", "/a/./b/..": "a",
	}
	for in, want := range tests {
		got, err := relPath(in)
		if err != nil || got != want {
			t.Errorf("relPath(%q): got %q, %v; want %q", in, got, err, want)
		}
	}
	if _, err := relPath("a\x00b"); err == nil {
		t.Error("relPath with NUL: got nil error, want EINVAL")
	}
}
