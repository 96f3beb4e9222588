package replica

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"simplecloud/sync/seal"
)

// Names of objects in the bucket (FORMAT.md).
const (
	markerKey      = "key"
	chunkPrefix    = "chunks/"
	snapshotPrefix = "snapshots/"
	// snapshotTime is the UTC time format of snapshot names: it sorts by
	// time as a string.
	snapshotTime = "20060102T150405.000000000Z"
)

// chunkKey is the object name of a record.
func chunkKey(id [seal.IDSize]byte) string { return chunkPrefix + seal.ObjectName(id) }

// snapshotName is a new snapshot's id: its start time and 4 random bytes,
// so that two servers writing to one bucket at the same instant do not
// collide.
func snapshotName(t time.Time, rand io.Reader) (string, error) {
	var b [4]byte
	if _, err := io.ReadFull(rand, b[:]); err != nil {
		return "", fmt.Errorf("snapshot name: %w", err)
	}
	return t.UTC().Format(snapshotTime) + "-" + hex.EncodeToString(b[:]), nil
}

// bucketID names a bucket's local state directory: a hash of the endpoint,
// bucket and key, so that state of one bucket is never used for another.
func bucketID(endpoint, bucket, keyID string) string {
	h := sha256.Sum256([]byte(endpoint + "\x00" + bucket + "\x00" + keyID))
	return hex.EncodeToString(h[:8])
}

// Snapshots returns the ids of the bucket's snapshots, oldest first.
func Snapshots(ctx context.Context, b Bucket) ([]string, error) {
	var ids []string
	err := b.List(ctx, snapshotPrefix, func(key string, _ int64) error {
		ids = append(ids, strings.TrimPrefix(key, snapshotPrefix))
		return nil
	})
	return ids, err
}

// CheckKey checks the bucket's key marker against k. A bucket without a
// marker is ErrNotFound (create puts one there instead).
func CheckKey(ctx context.Context, b Bucket, k *seal.Key, create bool) error {
	m, err := b.Get(ctx, markerKey)
	if errors.Is(err, ErrNotFound) && create {
		if err := b.Put(ctx, markerKey, strings.NewReader(string(k.Marker())), int64(len(k.Marker()))); err != nil {
			return fmt.Errorf("put key marker: %w", err)
		}
		return nil
	}
	if err != nil {
		return fmt.Errorf("read the bucket's key marker: %w", err)
	}
	if err := k.CheckMarker(m); err != nil {
		return fmt.Errorf("bucket: %w", err)
	}
	return nil
}

// LoadSnapshot reads and opens snapshot id; "" is the latest. It returns
// nil and no error when the bucket has no snapshot and id is "".
func LoadSnapshot(ctx context.Context, b Bucket, k *seal.Key, id string) (*Snapshot, string, error) {
	if id == "" {
		ids, err := Snapshots(ctx, b)
		if err != nil {
			return nil, "", err
		}
		if len(ids) == 0 {
			return nil, "", nil
		}
		id = ids[len(ids)-1]
	}
	data, err := b.Get(ctx, snapshotPrefix+id)
	if err != nil {
		return nil, id, fmt.Errorf("snapshot %s: %w", id, err)
	}
	s, err := OpenSnapshot(k, data)
	if err != nil {
		return nil, id, fmt.Errorf("snapshot %s: %w", id, err)
	}
	return s, id, nil
}
