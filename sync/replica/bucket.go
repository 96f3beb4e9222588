package replica

import (
	"context"
	"errors"
	"io"
)

// ErrNotFound is what a Bucket returns (wrapped) for an object that does
// not exist.
var ErrNotFound = errors.New("no such object")

// Bucket is the object store the replica writes to: an S3 bucket (S3, in
// s3.go) or, in tests, a map. Keys are the names of FORMAT.md. A Bucket is
// safe for concurrent use: a run uploads several chunks at once.
type Bucket interface {
	// Put stores size bytes read from r under key, replacing any object of
	// that name; large objects go up in parts.
	Put(ctx context.Context, key string, r io.Reader, size int64) error
	// Get returns the whole object.
	Get(ctx context.Context, key string) ([]byte, error)
	// Exists reports whether the object is there.
	Exists(ctx context.Context, key string) (bool, error)
	// List calls fn with the name and size of every object whose name
	// starts with prefix, in byte order of the names.
	List(ctx context.Context, prefix string, fn func(key string, size int64) error) error
	// Delete removes an object; a missing one is no error.
	Delete(ctx context.Context, key string) error
}
