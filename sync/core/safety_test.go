package core

import (
	"errors"
	"fmt"
	"testing"
)

func TestSafetyCheck(t *testing.T) {
	files := func(n int) []any {
		var pairs []any
		for i := range n {
			pairs = append(pairs, fmt.Sprintf("f%02d", i), file(byte(i+1)))
		}
		return pairs
	}
	ten := files(10)
	lim := Limits{MaxDeletePercent: 50, Grace: 2}
	tests := []struct {
		name    string
		a, l, r []any
		lim     Limits
		empty   bool   // want ErrEmptyRoot
		deletes string // want a DeleteError for this side
	}{
		{name: "nothing to do", a: ten, l: ten, r: ten, lim: lim},
		{name: "local root empty where the ancestor had files", a: ten, r: ten, lim: lim, empty: true},
		{name: "remote root empty where the ancestor had files", a: ten, l: ten, lim: lim, empty: true},
		{name: "empty root is refused even with force", a: ten, r: ten, lim: Limits{Force: true}, empty: true},
		{name: "empty root with no deletes to make is fine", a: ten, lim: lim},
		{name: "first run with an empty side is fine", r: ten, lim: lim},
		{name: "local deleted 4 of 10: under 50%", a: ten, l: ten[8:], r: ten, lim: lim},
		{name: "local deleted 6 of 10: over 50%", a: ten, l: ten[12:], r: ten, lim: lim, deletes: "remote"},
		{name: "remote deleted 6 of 10: over 50%", a: ten, l: ten, r: ten[12:], lim: lim, deletes: "local"},
		{name: "over the limit with force", a: ten, l: ten[12:], r: ten, lim: Limits{MaxDeletePercent: 50, Force: true}},
		{name: "no limit", a: ten, l: ten[18:], r: ten, lim: Limits{}},
		{name: "within the grace count", a: files(3), l: files(1), r: files(3), lim: lim},
		{name: "past the grace count", a: files(4), l: files(1), r: files(4), lim: lim, deletes: "remote"},
		{name: "a file replaced by a directory counts", a: files(2), l: []any{"f00", dir(), "f01", file(2)}, r: files(2),
			lim: Limits{MaxDeletePercent: 40}, deletes: "remote"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, l, r := mk(t, tt.a...), mk(t, tt.l...), mk(t, tt.r...)
			plan := Reconcile(a, l, r, fuzzOpts)
			err := SafetyCheck(a, l, r, &plan, tt.lim)
			var de *DeleteError
			switch {
			case tt.empty:
				if !errors.Is(err, ErrEmptyRoot) {
					t.Errorf("got %v, want ErrEmptyRoot", err)
				}
			case tt.deletes != "":
				if !errors.As(err, &de) || de.Side.String() != tt.deletes {
					t.Errorf("got %v, want a DeleteError on the %s side", err, tt.deletes)
				}
			case err != nil:
				t.Errorf("got %v, want nil", err)
			}
		})
	}
}

func TestCounts(t *testing.T) {
	a := mk(t, "a", file(1), "b", file(2), "c", file(3), "d", dir())
	l := mk(t, "a2", file(1), "c", file(4), "n", fileAt(5, 1), "d", file(6))
	plan := Reconcile(a, l, a, fuzzOpts)
	got := plan.Counts(Remote)
	want := Counts{Written: 3, Bytes: 400 + 500 + 600, Deleted: 1, Moved: 1}
	if got != want {
		t.Errorf("got %+v, want %+v (actions %q)", got, want, actionStrings(plan.Remote))
	}
	if c := plan.Counts(Local); c != (Counts{}) {
		t.Errorf("local: got %+v, want nothing", c)
	}
}
