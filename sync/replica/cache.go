package replica

import (
	"bufio"
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"simplecloud/sync/seal"
)

// chunkCache is the local list of the chunks the bucket holds (one object
// name per line in STATE/chunks), so that a run uploads a chunk only when
// it is absent without asking the bucket about each. A chunk is added
// after its upload succeeded: an interrupted run's uploads are known to
// the next. A missing file is rebuilt by listing chunks/. It is safe for
// concurrent use.
type chunkCache struct {
	mu   sync.Mutex
	have map[string]bool
	f    *os.File
}

// openCache loads the cache in dir (dir/chunks), or lists the bucket when
// there is none or a prune has deleted chunks since it was written (the
// bucket's generation, dir/generation), and opens it for appending.
func openCache(ctx context.Context, b Bucket, dir string) (*chunkCache, error) {
	c := &chunkCache{have: map[string]bool{}}
	path := filepath.Join(dir, "chunks")
	gen, err := bucketGeneration(ctx, b)
	if err != nil {
		return nil, err
	}
	local, err := os.ReadFile(filepath.Join(dir, "generation"))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("read chunk cache: %w", err)
	}
	data, err := os.ReadFile(path)
	switch {
	case err == nil && string(local) == gen:
		for _, l := range bytes.Split(data, []byte("\n")) {
			if len(l) == 2*seal.IDSize { // a line cut short by a crash is dropped
				c.have[string(l)] = true
			}
		}
	case err == nil || errors.Is(err, fs.ErrNotExist):
		if err := c.rebuild(ctx, b, path); err != nil {
			return nil, err
		}
		if err := writeFileAtomic(filepath.Join(dir, "generation"), []byte(gen)); err != nil {
			return nil, fmt.Errorf("write chunk cache: %w", err)
		}
	default:
		return nil, fmt.Errorf("read chunk cache: %w", err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open chunk cache: %w", err)
	}
	c.f = f
	return c, nil
}

// rebuild lists chunks/ and writes the cache afresh (through a temporary
// file renamed into place).
func (c *chunkCache) rebuild(ctx context.Context, b Bucket, path string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("make state directory: %w", err)
	}
	var buf bytes.Buffer
	w := bufio.NewWriter(&buf)
	err := b.List(ctx, chunkPrefix, func(key string, _ int64) error {
		name := strings.TrimPrefix(key, chunkPrefix)
		c.have[name] = true
		_, err := w.WriteString(name + "\n")
		return err
	})
	if err != nil {
		return fmt.Errorf("rebuild chunk cache: %w", err)
	}
	if err := w.Flush(); err != nil {
		return err
	}
	if err := writeFileAtomic(path, buf.Bytes()); err != nil {
		return fmt.Errorf("write chunk cache: %w", err)
	}
	return nil
}

// writeFileAtomic writes data to path through a temporary file renamed
// into place.
func writeFileAtomic(path string, data []byte) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// generationKey names the object a prune rewrites with a new random id
// after it deleted chunks: a server whose chunk cache was made at another
// generation lists the bucket again rather than trust it.
const generationKey = "pruned"

// bucketGeneration returns the bucket's prune generation, "" before the
// first prune.
func bucketGeneration(ctx context.Context, b Bucket) (string, error) {
	data, err := b.Get(ctx, generationKey)
	if errors.Is(err, ErrNotFound) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("read the bucket's prune generation: %w", err)
	}
	return string(data), nil
}

// newGeneration puts a new prune generation and returns it.
func newGeneration(ctx context.Context, b Bucket, rnd io.Reader) (string, error) {
	var id [8]byte
	if _, err := io.ReadFull(rnd, id[:]); err != nil {
		return "", fmt.Errorf("prune generation: %w", err)
	}
	gen := hex.EncodeToString(id[:])
	if err := b.Put(ctx, generationKey, strings.NewReader(gen), int64(len(gen))); err != nil {
		return "", fmt.Errorf("put prune generation: %w", err)
	}
	return gen, nil
}

// forgetChunks takes the deleted chunk objects out of the cache in dir
// and records the generation they were deleted in. A missing cache stays
// missing: the next run lists the bucket.
func forgetChunks(dir string, deleted []string, gen string) error {
	path := filepath.Join(dir, "chunks")
	data, err := os.ReadFile(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return fmt.Errorf("read chunk cache: %w", err)
	default:
		gone := make(map[string]bool, len(deleted))
		for _, k := range deleted {
			gone[strings.TrimPrefix(k, chunkPrefix)] = true
		}
		var buf bytes.Buffer
		for _, l := range bytes.Split(data, []byte("\n")) {
			if len(l) == 2*seal.IDSize && !gone[string(l)] {
				buf.Write(l)
				buf.WriteByte('\n')
			}
		}
		if err := writeFileAtomic(path, buf.Bytes()); err != nil {
			return fmt.Errorf("write chunk cache: %w", err)
		}
	}
	if err := writeFileAtomic(filepath.Join(dir, "generation"), []byte(gen)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("write chunk cache: %w", err)
	}
	return nil
}

// claim reports whether name is neither in the bucket nor being uploaded,
// and if so marks it as being uploaded.
func (c *chunkCache) claim(name string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.have[name]; ok {
		return false
	}
	c.have[name] = false
	return true
}

// done records that name is in the bucket.
func (c *chunkCache) done(name string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.have[name] = true
	if _, err := c.f.WriteString(name + "\n"); err != nil {
		return fmt.Errorf("write chunk cache: %w", err)
	}
	return nil
}

// failed forgets a claim whose upload failed.
func (c *chunkCache) failed(name string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.have[name] {
		delete(c.have, name)
	}
}

func (c *chunkCache) close() error { return c.f.Close() }
