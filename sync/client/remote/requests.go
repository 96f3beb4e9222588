package remote

import (
	"context"
	"fmt"
	"slices"

	"simplecloud/sync/proto"
)

// List streams the entries of the subtree at p to fn, in batches: p's own
// entry first, then depth-first, names in byte order.
func (c *Client) List(ctx context.Context, p string, h proto.HashMode, fn func([]proto.Entry) error) error {
	return c.ListDigests(ctx, p, h, nil, func(es []proto.Entry, _ []uint32) error { return fn(es) })
}

// HasDigests reports whether the server answers ListDigests with digests
// (proto.CapDigests).
func (c *Client) HasDigests() bool { return slices.Contains(c.w.Caps, proto.CapDigests) }

// ListDigests is List against the client's directory digests (see
// proto.DirDigests): fn gets the entries sent and the numbers, in dirs,
// of the directories whose direct entries match their digest and are not
// sent. With no dirs, or a server without proto.CapDigests, it is List.
func (c *Client) ListDigests(ctx context.Context, p string, h proto.HashMode, dirs []proto.DirSum, fn func([]proto.Entry, []uint32) error) error {
	if !c.HasDigests() {
		dirs = nil
	}
	batches := proto.DigestBatches(dirs)
	s, err := c.open(ctx, &proto.List{Path: p, Hashes: h, Format: c.format, Digests: len(batches) > 0}, len(batches) == 0)
	if err != nil {
		return fmt.Errorf("list %q: %w", p, err)
	}
	defer s.close()
	for i, b := range batches {
		if err := s.send(i == len(batches)-1, &proto.DirDigests{Dirs: b}); err != nil {
			return fmt.Errorf("list %q: %w", p, err)
		}
	}
	var ferr error
	for {
		f, err := s.recv(ctx)
		if err != nil {
			return fmt.Errorf("list %q: %w", p, err)
		}
		switch m := f.Msg.(type) {
		case *proto.Error:
			return fmt.Errorf("list %q: %w", p, m)
		case *proto.EntryBatch:
			if ferr == nil {
				if ferr = fn(m.Entries, m.Same); ferr != nil {
					s.send(true, &proto.Cancel{})
				}
			}
		default:
			return fmt.Errorf("list %q: unexpected %T", p, m)
		}
		if f.Final {
			return ferr
		}
	}
}

// Stat returns the entries of paths, in order (KindAbsent for a missing one).
func (c *Client) Stat(ctx context.Context, paths []string, h proto.HashMode) ([]proto.Entry, error) {
	m, err := c.call(ctx, &proto.Stat{Paths: paths, Hashes: h, Format: c.format})
	if err != nil {
		return nil, fmt.Errorf("stat: %w", err)
	}
	b, ok := m.(*proto.EntryBatch)
	if !ok || len(b.Entries) != len(paths) {
		return nil, fmt.Errorf("stat: unexpected answer %T", m)
	}
	return b.Entries, nil
}

// done returns a Done's entry.
func done(doing string, m proto.Message, err error) (proto.Entry, error) {
	if err != nil {
		return proto.Entry{}, fmt.Errorf("%s: %w", doing, err)
	}
	d, ok := m.(*proto.Done)
	if !ok {
		return proto.Entry{}, fmt.Errorf("%s: unexpected answer %T", doing, m)
	}
	if d.Entry == nil {
		return proto.Entry{}, nil
	}
	return *d.Entry, nil
}

// Mkdir makes the directory p (an existing one is success).
func (c *Client) Mkdir(ctx context.Context, p string, mode uint32, mtime int64) (proto.Entry, error) {
	m, err := c.call(ctx, &proto.Mkdir{Path: p, Mode: mode & proto.ModeMask, Mtime: mtime})
	return done("make directory "+p, m, err)
}

// Symlink makes p a link to target in place of what expect names.
func (c *Client) Symlink(ctx context.Context, p, target string, expect proto.Expect) (proto.Entry, error) {
	m, err := c.call(ctx, &proto.Symlink{Path: p, Target: target, Expect: expect})
	return done("make link "+p, m, err)
}

// Rename moves from to to, if from is expect and to is expectTo.
func (c *Client) Rename(ctx context.Context, from, to string, expect, expectTo proto.Expect) (proto.Entry, error) {
	m, err := c.call(ctx, &proto.Rename{From: from, To: to, Expect: expect, ExpectTo: expectTo})
	return done("rename "+from+" to "+to, m, err)
}

// Delete removes p (a directory only when empty) if it is expect.
func (c *Client) Delete(ctx context.Context, p string, expect proto.Expect) error {
	m, err := c.call(ctx, &proto.Delete{Path: p, Expect: expect})
	_, err = done("delete "+p, m, err)
	return err
}

// Flush returns once every change the server has answered on this
// connection is on its disk (proto.Flush). A server without
// proto.CapFlush made each durable before answering: nothing to do.
func (c *Client) Flush(ctx context.Context) error {
	if !slices.Contains(c.w.Caps, proto.CapFlush) {
		return nil
	}
	m, err := c.call(ctx, &proto.Flush{})
	_, err = done("flush the server's changes to disk", m, err)
	return err
}

// SetAttr sets p's permission bits and mtime if it is expect.
func (c *Client) SetAttr(ctx context.Context, p string, expect proto.Expect, mode uint32, mtime int64) (proto.Entry, error) {
	m, err := c.call(ctx, &proto.SetAttr{Path: p, Expect: expect, Mode: mode & proto.ModeMask, Mtime: mtime})
	return done("set attributes of "+p, m, err)
}

// Versions returns the kept versions of p (of everything below a
// directory), oldest first.
func (c *Client) Versions(ctx context.Context, p string) ([]proto.Version, error) {
	s, err := c.open(ctx, &proto.Versions{Path: p}, true)
	if err != nil {
		return nil, fmt.Errorf("list versions of %q: %w", p, err)
	}
	defer s.close()
	var out []proto.Version
	for {
		f, err := s.recv(ctx)
		if err != nil {
			return nil, fmt.Errorf("list versions of %q: %w", p, err)
		}
		switch m := f.Msg.(type) {
		case *proto.Error:
			return nil, fmt.Errorf("list versions of %q: %w", p, m)
		case *proto.VersionList:
			out = append(out, m.Versions...)
		}
		if f.Final {
			return out, nil
		}
	}
}

// Restore brings version back at to (p when empty), if to is expect.
func (c *Client) Restore(ctx context.Context, p, version, to string, expect proto.Expect) (proto.Entry, error) {
	m, err := c.call(ctx, &proto.Restore{Path: p, Version: version, To: to, Expect: expect})
	return done("restore "+p, m, err)
}

// Chunks returns the chunk list of the server's file p, which must hash to
// h (zero: any), with its hash and size.
func (c *Client) Chunks(ctx context.Context, p string, h proto.Hash) ([]proto.ChunkRef, proto.Hash, uint64, error) {
	s, err := c.open(ctx, &proto.Chunks{Path: p, Hash: h, Format: c.format}, true)
	if err != nil {
		return nil, proto.Hash{}, 0, fmt.Errorf("chunks of %s: %w", p, err)
	}
	defer s.close()
	var refs []proto.ChunkRef
	for {
		f, err := s.recv(ctx)
		if err != nil {
			return nil, proto.Hash{}, 0, fmt.Errorf("chunks of %s: %w", p, err)
		}
		switch m := f.Msg.(type) {
		case *proto.Error:
			return nil, proto.Hash{}, 0, fmt.Errorf("chunks of %s: %w", p, m)
		case *proto.ChunkList:
			refs = append(refs, m.Chunks...)
			if f.Final {
				return refs, m.Hash, m.Size, nil
			}
		default:
			return nil, proto.Hash{}, 0, fmt.Errorf("chunks of %s: unexpected %T", p, m)
		}
	}
}

// Node records on the server that node id (named name) has just synced the
// folder p, and returns the nodes that synced it, most recent first; none
// from a server without node records (CapNodes).
func (c *Client) Node(ctx context.Context, id, name, p string) ([]proto.NodeInfo, error) {
	if !slices.Contains(c.w.Caps, proto.CapNodes) {
		return nil, nil
	}
	m, err := c.call(ctx, &proto.Node{ID: id, Name: name, Path: p})
	if err != nil {
		return nil, fmt.Errorf("record this node's sync of %q: %w", p, err)
	}
	l, ok := m.(*proto.NodeList)
	if !ok {
		return nil, fmt.Errorf("record this node's sync of %q: unexpected answer %T", p, m)
	}
	return l.Nodes, nil
}
