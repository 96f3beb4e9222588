package client

import (
	"slices"
	"testing"

	"simplecloud/sync/core"
)

func TestTouched(t *testing.T) {
	for _, tt := range []struct {
		name string
		acts []core.Action
		want []string
	}{
		{"none", nil, nil},
		{"write and its parent", []core.Action{
			{Op: core.OpMkdir, Path: "d"},
			{Op: core.OpWrite, Path: "d/f", From: "d/f"},
		}, []string{"d", "d/f"}},
		{"a move names both paths, a write its path once", []core.Action{
			{Op: core.OpWrite, Path: "b", From: "b"},
			{Op: core.OpMove, Path: "c", From: "a"},
			{Op: core.OpSetMeta, Path: "b"},
			{Op: core.OpRemove, Path: "a"},
		}, []string{"b", "c", "a", "b", "a"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := slices.Collect(touched(slices.All(tt.acts))); !slices.Equal(got, tt.want) {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}
