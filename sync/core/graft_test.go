package core

import "testing"

func TestGraft(t *testing.T) {
	// Directories by number: "" 0, a 1, a/sub 2, b 3, b-c 4.
	base := mk(t, "a", dir(), "a/x", file(1), "a/sub", dir(), "a/sub/y", file(2),
		"b", dir(), "b/z", file(3), "b/l", link("z"), "b-c", dir(), "f", file(4))
	type add struct {
		p string
		e Entry
	}
	cases := []struct {
		name    string
		added   []add
		same    []int
		want    string
		wantErr bool
	}{
		{"all same", nil, []int{0, 1, 2, 3, 4}, treeString(base), false},
		{"root sent", []add{{"a", dir()}, {"b", dir()}, {"b-c", dir()}, {"f", file(5)}}, []int{1, 2, 3},
			"{a=d a/sub=d a/sub/y=f2 a/x=f1 b=d b/l=l>z b/z=f3 b-c=d f=f5}", false},
		{"a deep change", []add{{"a/sub/y", file(7)}}, []int{0, 1, 3},
			"{a=d a/sub=d a/sub/y=f7 a/x=f1 b=d b/l=l>z b/z=f3 b-c=d f=f4}", false},
		{"a directory emptied", nil, []int{0, 1, 3},
			"{a=d a/sub=d a/x=f1 b=d b/l=l>z b/z=f3 b-c=d f=f4}", false},
		{"a directory gone", []add{{"a", dir()}, {"f", file(4)}}, []int{1, 2},
			"{a=d a/sub=d a/sub/y=f2 a/x=f1 f=f4}", false},
		{"a file became a directory", []add{{"a/x", dir()}, {"a/x/n", file(9)}, {"a/sub", dir()}}, []int{0, 2, 3},
			"{a=d a/sub=d a/sub/y=f2 a/x=d a/x/n=f9 b=d b/l=l>z b/z=f3 b-c=d f=f4}", false},
		{"nothing same", []add{{"n", file(1)}}, nil, "{n=f1}", false},
		{"sent twice", []add{{"a/x", file(1)}}, []int{0, 1}, "", true},
		{"no parent", []add{{"q/r", file(1)}}, []int{0}, "", true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var b Builder
			for _, a := range tc.added {
				if err := b.Add(a.p, a.e); err != nil {
					t.Fatal(err)
				}
			}
			same := make([]bool, 6)
			for _, n := range tc.same {
				same[n] = true
			}
			got, err := b.Graft(base, same)
			if tc.wantErr {
				if err == nil {
					t.Errorf("got %s, want an error", treeString(got))
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if s := treeString(got); s != tc.want {
				t.Errorf("got %s, want %s", s, tc.want)
			}
		})
	}
	t.Run("shares the base", func(t *testing.T) {
		var b Builder
		got, err := b.Graft(base, []bool{true, true, true, true, true})
		if err != nil || got.Len() != base.Len() || &got.recs[0] != &base.recs[0] {
			t.Errorf("all same: got a copy (%v), want base itself", err)
		}
	})
}
