package client

import (
	"context"
	"os"

	"simplecloud/sync/proto"
)

// Remote is what the engine needs of the server: the methods of
// sync/client/remote's *Client that a run uses, with exactly its
// signatures, so that the engine is tested with a fake and driven by the
// real client alike. Every method must be safe for concurrent use: the
// engine keeps many requests in flight.
type Remote interface {
	List(ctx context.Context, p string, h proto.HashMode, fn func([]proto.Entry) error) error
	Stat(ctx context.Context, paths []string, h proto.HashMode) ([]proto.Entry, error)
	Download(ctx context.Context, p string, want proto.Hash, base, dst *os.File) (TransferStats, error)
	Upload(ctx context.Context, p string, expect proto.Expect, src *os.File, o UploadOptions) (proto.Entry, TransferStats, error)
	Mkdir(ctx context.Context, p string, mode uint32, mtime int64) (proto.Entry, error)
	Symlink(ctx context.Context, p, target string, expect proto.Expect) (proto.Entry, error)
	Rename(ctx context.Context, from, to string, expect, expectTo proto.Expect) (proto.Entry, error)
	Delete(ctx context.Context, p string, expect proto.Expect) error
	SetAttr(ctx context.Context, p string, expect proto.Expect, mode uint32, mtime int64) (proto.Entry, error)
}

// TransferStats counts one transfer's payload bytes: sent, received, and
// taken from the base (or the server's old file) instead.
type TransferStats struct{ Sent, Received, Reused int64 }

// UploadOptions describe the file an Upload sends: its resumable
// transfer id, mode, mtime, size and content hash.
type UploadOptions struct {
	Transfer proto.TransferID
	Mode     uint32
	Mtime    int64
	Size     int64
	Hash     proto.Hash
}
