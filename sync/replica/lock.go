package replica

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"
)

// Locks keep a prune from deleting chunks that a run in progress counts
// on (a run skips a chunk its cache says the bucket holds). They are
// objects under locks/: a run takes a shared one, a prune an exclusive
// one. A taker puts its lock first and then lists the others, so of two
// that start at once at least one sees the other (S3 lists what was put
// before, as Ceph RGW does) and backs off. A holder puts its lock again
// every lockRefresh; one not renewed for lockStale is a crashed holder's
// and is ignored.
const (
	lockPrefix  = "locks/"
	lockRefresh = 5 * time.Minute
	lockStale   = 30 * time.Minute
)

// Kinds of locks.
const (
	lockRun   = "run"
	lockPrune = "prune"
)

// ErrLocked is wrapped by the error for a lock another run or prune holds.
var ErrLocked = errors.New("the bucket is locked")

// lockInfo is a lock object's content: its kind and when it was last put,
// by the holder's clock.
type lockInfo struct {
	Kind string `json:"kind"`
	Time int64  `json:"time"` // ns since the epoch
}

// heldLock is a lock this process holds; release removes it.
type heldLock struct {
	b    Bucket
	key  string
	kind string
	now  func() time.Time
	stop chan struct{}
	done sync.WaitGroup
}

// takeLock puts a lock of kind and checks the others: an exclusive lock
// conflicts with any live lock, a shared one with a live exclusive one.
// On a conflict it removes its own and returns an error wrapping
// ErrLocked that names what holds the bucket.
func takeLock(ctx context.Context, b Bucket, kind string, now func() time.Time, rnd io.Reader) (*heldLock, error) {
	var id [8]byte
	if _, err := io.ReadFull(rnd, id[:]); err != nil {
		return nil, fmt.Errorf("lock: %w", err)
	}
	l := &heldLock{b: b, key: lockPrefix + kind + "-" + hex.EncodeToString(id[:]), kind: kind, now: now, stop: make(chan struct{})}
	if err := l.put(ctx); err != nil {
		return nil, err
	}
	conflict, err := l.conflict(ctx)
	if err == nil && conflict != "" {
		err = fmt.Errorf("%w: %s (a lock not renewed for %v is ignored; remove %s from the bucket if its holder is gone)", ErrLocked, conflict, lockStale, lockPrefix)
	}
	if err != nil {
		l.b.Delete(context.WithoutCancel(ctx), l.key)
		return nil, err
	}
	l.done.Add(1)
	go l.renew(ctx)
	return l, nil
}

func (l *heldLock) put(ctx context.Context) error {
	js, _ := json.Marshal(lockInfo{Kind: l.kind, Time: l.now().UnixNano()})
	if err := l.b.Put(ctx, l.key, bytes.NewReader(js), int64(len(js))); err != nil {
		return fmt.Errorf("put lock %s: %w", l.key, err)
	}
	return nil
}

// conflict returns a description of a live lock that excludes l, or "".
func (l *heldLock) conflict(ctx context.Context) (string, error) {
	var keys []string
	if err := l.b.List(ctx, lockPrefix, func(key string, _ int64) error {
		if key != l.key {
			keys = append(keys, key)
		}
		return nil
	}); err != nil {
		return "", fmt.Errorf("list locks: %w", err)
	}
	now := l.now()
	for _, key := range keys {
		data, err := l.b.Get(ctx, key)
		if errors.Is(err, ErrNotFound) {
			continue // released since the list
		}
		if err != nil {
			return "", fmt.Errorf("read lock %s: %w", key, err)
		}
		var info lockInfo
		if err := json.Unmarshal(data, &info); err != nil || (info.Kind != lockRun && info.Kind != lockPrune) {
			// Not ours to judge: treat it as exclusive and live, the
			// safe reading.
			info = lockInfo{Kind: lockPrune, Time: now.UnixNano()}
		}
		age := now.Sub(time.Unix(0, info.Time))
		if age > lockStale {
			continue
		}
		if l.kind == lockPrune || info.Kind == lockPrune {
			what := "a replica run"
			if info.Kind == lockPrune {
				what = "a prune"
			}
			return fmt.Sprintf("%s holds it (%s, renewed %v ago)", what, strings.TrimPrefix(key, lockPrefix), age.Round(time.Second)), nil
		}
	}
	return "", nil
}

// renew puts the lock again every lockRefresh until release.
func (l *heldLock) renew(ctx context.Context) {
	defer l.done.Done()
	t := time.NewTicker(lockRefresh)
	defer t.Stop()
	for {
		select {
		case <-l.stop:
			return
		case <-ctx.Done():
			return
		case <-t.C:
			l.put(ctx) // a failed renewal is retried at the next tick
		}
	}
}

// release stops renewing and removes the lock.
func (l *heldLock) release(ctx context.Context) error {
	close(l.stop)
	l.done.Wait()
	if err := l.b.Delete(context.WithoutCancel(ctx), l.key); err != nil {
		return fmt.Errorf("remove lock %s: %w", l.key, err)
	}
	return nil
}
