package replica

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"
)

// countingBucket counts the requests made of a Bucket and can fail puts
// after a number of them (an interrupted run).
type countingBucket struct {
	Bucket
	mu                        sync.Mutex
	puts, gets, exists, lists int
	listed                    []string // the prefixes listed
	failAfter                 int      // >0: puts past this many fail
}

var errInjected = errors.New("injected failure")

func (c *countingBucket) Put(ctx context.Context, key string, r io.Reader, size int64) error {
	c.mu.Lock()
	if c.failAfter > 0 && c.puts >= c.failAfter {
		c.mu.Unlock()
		return errInjected
	}
	c.puts++
	c.mu.Unlock()
	return c.Bucket.Put(ctx, key, r, size)
}

func (c *countingBucket) Get(ctx context.Context, key string) ([]byte, error) {
	c.mu.Lock()
	c.gets++
	c.mu.Unlock()
	return c.Bucket.Get(ctx, key)
}

func (c *countingBucket) Exists(ctx context.Context, key string) (bool, error) {
	c.mu.Lock()
	c.exists++
	c.mu.Unlock()
	return c.Bucket.Exists(ctx, key)
}

func (c *countingBucket) List(ctx context.Context, prefix string, fn func(string, int64) error) error {
	c.mu.Lock()
	c.lists++
	c.listed = append(c.listed, prefix)
	c.mu.Unlock()
	return c.Bucket.List(ctx, prefix, fn)
}

func (c *countingBucket) reset() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.puts, c.gets, c.exists, c.lists, c.listed = 0, 0, 0, 0, nil
}

// memBucket is a Bucket in memory, for the pure unit tests.
type memBucket struct {
	mu sync.Mutex
	m  map[string][]byte
}

func newMemBucket() *memBucket { return &memBucket{m: map[string][]byte{}} }

func (b *memBucket) Put(_ context.Context, key string, r io.Reader, size int64) error {
	data, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	if int64(len(data)) != size {
		return fmt.Errorf("put %s: %d bytes, said %d", key, len(data), size)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.m[key] = data
	return nil
}

func (b *memBucket) Get(_ context.Context, key string) ([]byte, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	d, ok := b.m[key]
	if !ok {
		return nil, fmt.Errorf("get %s: %w", key, ErrNotFound)
	}
	return bytes.Clone(d), nil
}

func (b *memBucket) Exists(_ context.Context, key string) (bool, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	_, ok := b.m[key]
	return ok, nil
}

func (b *memBucket) List(_ context.Context, prefix string, fn func(string, int64) error) error {
	b.mu.Lock()
	var keys []string
	for k := range b.m {
		if strings.HasPrefix(k, prefix) {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	sizes := make([]int64, len(keys))
	for i, k := range keys {
		sizes[i] = int64(len(b.m[k]))
	}
	b.mu.Unlock()
	for i, k := range keys {
		if err := fn(k, sizes[i]); err != nil {
			return err
		}
	}
	return nil
}

func (b *memBucket) Delete(_ context.Context, key string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	delete(b.m, key)
	return nil
}
