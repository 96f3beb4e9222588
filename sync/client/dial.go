package client

import (
	"context"
	"os"

	"simplecloud/sync/client/remote"
	"simplecloud/sync/proto"
)

// RunOnceDialing is RunOnce with the connection made meanwhile: dial runs
// at once, beside the state load and the local scan, which need no server
// (ssh's start, key exchange and login, and the server's start of its
// session, cost a tenth of a second that a re-sync of an unchanged tree
// would otherwise wait out before scanning). The run waits for the
// connection where it first needs the server: the listing. An encrypted
// folder waits for it first, as RunOnce checks the key before anything.
// It returns the connection for the caller to close; nil, and the dial's
// error, if dial failed.
func RunOnceDialing(ctx context.Context, dial func(context.Context) (*remote.Client, error), o Options) (Summary, *remote.Client, error) {
	if o.Key != nil {
		rc, err := dial(ctx)
		if err != nil {
			return Summary{}, nil, err
		}
		sum, err := RunOnce(ctx, rc, o)
		return sum, rc, err
	}
	p := &dialing{done: make(chan struct{})}
	go func() {
		defer close(p.done)
		p.rc, p.err = dial(ctx)
	}()
	sum, err := RunOnce(ctx, p, o)
	<-p.done
	if p.err != nil {
		// The run failed for want of the server, or before it needed
		// it: either way the connection's failure is what to report.
		return sum, nil, p.err
	}
	return sum, p.rc, err
}

// dialing is a Remote whose connection is being made: each call waits for
// it, and fails with the dial's error.
type dialing struct {
	done chan struct{}
	rc   *remote.Client
	err  error
}

var (
	_ Remote       = (*dialing)(nil)
	_ digestLister = (*dialing)(nil)
)

func (d *dialing) get() (*remote.Client, error) {
	<-d.done
	return d.rc, d.err
}

// call runs f on the connection once it is made; the dial's error if it
// failed. (Each method below is one such call.)
func call[T any](d *dialing, f func(*remote.Client) (T, error)) (T, error) {
	rc, err := d.get()
	if err != nil {
		var zero T
		return zero, err
	}
	return f(rc)
}

// none is call's result type for the methods that return only an error.
type none struct{}

func (d *dialing) List(ctx context.Context, p string, h proto.HashMode, fn func([]proto.Entry) error) error {
	_, err := call(d, func(rc *remote.Client) (none, error) { return none{}, rc.List(ctx, p, h, fn) })
	return err
}

// HasDigests is false when the dial failed: the listing then fails with
// its error.
func (d *dialing) HasDigests() bool {
	rc, err := d.get()
	return err == nil && rc.HasDigests()
}

// Unhashed is false when the dial failed, as HasDigests.
func (d *dialing) Unhashed() bool {
	rc, err := d.get()
	return err == nil && rc.Unhashed()
}

func (d *dialing) ListDigests(ctx context.Context, p string, h proto.HashMode, dirs []proto.DirSum, fn func([]proto.Entry, []uint32) error) error {
	_, err := call(d, func(rc *remote.Client) (none, error) { return none{}, rc.ListDigests(ctx, p, h, dirs, fn) })
	return err
}

func (d *dialing) Download(ctx context.Context, p string, want proto.Hash, base, dst *os.File) (remote.TransferStats, error) {
	return call(d, func(rc *remote.Client) (remote.TransferStats, error) { return rc.Download(ctx, p, want, base, dst) })
}

func (d *dialing) Upload(ctx context.Context, p string, expect proto.Expect, src *os.File, o remote.UploadOptions) (proto.Entry, remote.TransferStats, error) {
	rc, err := d.get()
	if err != nil {
		return proto.Entry{}, remote.TransferStats{}, err
	}
	return rc.Upload(ctx, p, expect, src, o)
}

func (d *dialing) Mkdir(ctx context.Context, p string, mode uint32, mtime int64) (proto.Entry, error) {
	return call(d, func(rc *remote.Client) (proto.Entry, error) { return rc.Mkdir(ctx, p, mode, mtime) })
}

func (d *dialing) Symlink(ctx context.Context, p, target string, expect proto.Expect) (proto.Entry, error) {
	return call(d, func(rc *remote.Client) (proto.Entry, error) { return rc.Symlink(ctx, p, target, expect) })
}

func (d *dialing) Rename(ctx context.Context, from, to string, expect, expectTo proto.Expect) (proto.Entry, error) {
	return call(d, func(rc *remote.Client) (proto.Entry, error) { return rc.Rename(ctx, from, to, expect, expectTo) })
}

func (d *dialing) Delete(ctx context.Context, p string, expect proto.Expect) error {
	_, err := call(d, func(rc *remote.Client) (none, error) { return none{}, rc.Delete(ctx, p, expect) })
	return err
}

func (d *dialing) SetAttr(ctx context.Context, p string, expect proto.Expect, mode uint32, mtime int64) (proto.Entry, error) {
	return call(d, func(rc *remote.Client) (proto.Entry, error) { return rc.SetAttr(ctx, p, expect, mode, mtime) })
}

func (d *dialing) Stat(ctx context.Context, paths []string, h proto.HashMode) ([]proto.Entry, error) {
	return call(d, func(rc *remote.Client) ([]proto.Entry, error) { return rc.Stat(ctx, paths, h) })
}

func (d *dialing) Flush(ctx context.Context) error {
	_, err := call(d, func(rc *remote.Client) (none, error) { return none{}, rc.Flush(ctx) })
	return err
}

func (d *dialing) Stats() remote.Stats {
	rc, err := d.get()
	if err != nil {
		return remote.Stats{}
	}
	return rc.Stats()
}
