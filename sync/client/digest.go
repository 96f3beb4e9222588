package client

import (
	"context"
	"fmt"

	"simplecloud/sync/client/remote"
	"simplecloud/sync/core"
	"simplecloud/sync/proto"
)

// digestLister is a Remote that can list against digests of the last
// agreed state (*remote.Client; an encrypted folder's remote is not: the
// ancestor holds plain names and sizes, the server sealed ones).
type digestLister interface {
	ListDigests(ctx context.Context, p string, h proto.HashMode, dirs []proto.DirSum, fn func([]proto.Entry, []uint32) error) error
}

var _ digestLister = (*remote.Client)(nil)

// ancestorDigests returns the digest of every directory of t that holds
// entries (the folder root first, each before those below it), named by its server
// path below base, as the server computes it over the entries it would
// list; and each one's number in t as core.Builder.Graft takes it.
func ancestorDigests(t core.Tree, base string) ([]proto.DirSum, []int) {
	type open struct {
		path string
		n    int
		d    proto.Digester
	}
	var dirs []proto.DirSum
	var nums []int
	var stack []*open
	var spare []*open
	push := func(p string, n int) {
		var o *open
		if k := len(spare); k > 0 {
			o, spare = spare[k-1], spare[:k-1]
		} else {
			o = new(open)
		}
		o.path, o.n = p, n
		o.d.Reset()
		stack = append(stack, o)
	}
	pop := func() {
		o := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		spare = append(spare, o)
		if sum, ok := o.d.Sum(); ok && o.d.Len() > 0 {
			dirs = append(dirs, proto.DirSum{Path: remotePath(base, o.path), Digest: sum})
			nums = append(nums, o.n)
		}
	}
	push("", 0)
	next := 0
	for p, e := range t.All() {
		parent := core.Parent(p)
		for len(stack) > 1 && stack[len(stack)-1].path != parent {
			pop()
		}
		pe := proto.Entry{Kind: kindToProto(e.Kind), Mode: uint32(e.Mode & core.PermMask), Mtime: e.MTime,
			Hash: proto.Hash(e.Hash), Target: e.Target}
		if e.Kind == core.File {
			pe.Size = uint64(e.Size)
		}
		stack[len(stack)-1].d.Add(core.Base(p), &pe)
		if e.Kind == core.Dir {
			next++
			push(p, next)
		}
	}
	for len(stack) > 0 {
		pop()
	}
	// Popped innermost first: reversed, the root comes first and a
	// directory before those below it (the server takes any order).
	for i, j := 0, len(dirs)-1; i < j; i, j = i+1, j-1 {
		dirs[i], dirs[j] = dirs[j], dirs[i]
		nums[i], nums[j] = nums[j], nums[i]
	}
	return dirs, nums
}

// listDigests lists the server folder base against the digests of
// ancestor and rebuilds the server's tree: the entries sent, and the
// ancestor's own entries of each directory the server found unchanged.
// The digests are made before the request waits for the connection (see
// RunOnceDialing), so that the server can start its walk as soon as it
// is there; a server without digests lists everything, which grafts
// nothing.
func listDigests(ctx context.Context, dl digestLister, base string, ancestor core.Tree, unknown map[string]bool) (core.Tree, error) {
	dirs, nums := ancestorDigests(ancestor, base)
	same := make([]bool, ancestor.Len()+1)
	var b core.Builder
	err := dl.ListDigests(ctx, base, proto.HashesAll, dirs, func(es []proto.Entry, ss []uint32) error {
		for _, e := range es {
			if err := addListed(&b, base, e, unknown); err != nil {
				return err
			}
		}
		for _, i := range ss {
			if int(i) >= len(nums) {
				return fmt.Errorf("list %s: the server named directory %d of %d", base, i, len(nums))
			}
			same[nums[i]] = true
		}
		return nil
	})
	if err != nil {
		return core.Tree{}, err
	}
	t, err := b.Graft(ancestor, same)
	if err != nil {
		return core.Tree{}, fmt.Errorf("list %s: %w", base, err)
	}
	return t, nil
}
