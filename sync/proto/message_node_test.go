package proto

import (
	"errors"
	"strings"
	"testing"
)

func TestCheckNode(t *testing.T) {
	id := "0123456789abcdef0123456789abcdef"
	for _, tc := range []struct {
		id, name string
		ok       bool
	}{
		{id, "laptop", true},
		{id, "Anna's laptop (home)", true},
		{strings.ToUpper(id), "laptop", false},
		{id[:31], "laptop", false},
		{id + "0", "laptop", false},
		{"../../etc/passwd0123456789abcdef", "laptop", false},
		{id, "", false},
		{id, strings.Repeat("x", MaxNodeName+1), false},
		{id, "line\nbreak", false},
	} {
		err := CheckNode(tc.id, tc.name)
		if (err == nil) != tc.ok || (err != nil && !errors.Is(err, ErrFrame)) {
			t.Errorf("CheckNode(%q, %q) = %v, want ok=%v", tc.id, tc.name, err, tc.ok)
		}
	}
}
