package replica

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
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

// openCache loads the cache at path, or lists the bucket when there is
// none, and opens it for appending.
func openCache(ctx context.Context, b Bucket, path string) (*chunkCache, error) {
	c := &chunkCache{have: map[string]bool{}}
	data, err := os.ReadFile(path)
	switch {
	case err == nil:
		for _, l := range bytes.Split(data, []byte("\n")) {
			if len(l) == 2*seal.IDSize { // a line cut short by a crash is dropped
				c.have[string(l)] = true
			}
		}
	case errors.Is(err, fs.ErrNotExist):
		if err := c.rebuild(ctx, b, path); err != nil {
			return nil, err
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
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, buf.Bytes(), 0o600); err != nil {
		return fmt.Errorf("write chunk cache: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
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
