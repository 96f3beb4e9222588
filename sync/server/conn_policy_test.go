package server

import (
	"testing"
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
