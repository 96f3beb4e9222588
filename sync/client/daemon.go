package client

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"simplecloud/sync/client/remote"
	"simplecloud/sync/core"
	"simplecloud/sync/rootfs"
	"simplecloud/sync/watch"
)

// Report is called after every run of a continuous sync (err: why the run
// or the connection failed).
type Report func(Summary, error)

// settle is how long a burst of changes is gathered before a run.
const settle = 30 * time.Millisecond

// Watch keeps the folder in step until stop is closed: a full run, then a
// run after every local change (inotify) and every change the server
// pushes, with a dropped connection retried with back-off (1 s doubling to
// a minute). A run in progress when stop closes finishes first; only a
// cancelled ctx interrupts transfers.
func Watch(ctx context.Context, stop <-chan struct{}, connect func(context.Context) (*remote.Client, error), o Options, report Report) error {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	backoff := time.Second
	for {
		rc, err := connect(ctx)
		if err == nil {
			backoff = time.Second
			err = session(ctx, stop, rc, o, report)
			rc.Close()
		}
		select {
		case <-stop:
			return nil
		case <-ctx.Done():
			return nil
		default:
		}
		if errors.Is(err, ErrUnsafe) || errors.Is(err, ErrWrongKey) {
			return err
		}
		report(Summary{}, fmt.Errorf("%w; trying again in %v", err, backoff))
		select {
		case <-time.After(backoff):
		case <-stop:
			return nil
		case <-ctx.Done():
			return nil
		}
		backoff = min(backoff*2, time.Minute)
	}
}

// session runs until stop, or until the connection or the feed fails.
func session(ctx context.Context, stop <-chan struct{}, rc *remote.Client, o Options, report Report) error {
	// The feed needs the server folder: make it (a no-op when it exists).
	if o.Key != nil {
		// An encrypted folder's marker first (a wrong key stops here).
		if _, err := sealRemote(ctx, rc, o); err != nil {
			return err
		}
	} else if o.RemotePath != "" && !o.DryRun {
		if err := mkdirs(ctx, rc, o.RemotePath); err != nil {
			return err
		}
	}
	feed, err := rc.Subscribe(ctx, o.RemotePath)
	if err != nil {
		return err
	}
	defer feed.Close()
	wake := make(chan struct{}, 1)
	poke := func() {
		select {
		case wake <- struct{}{}:
		default:
		}
	}
	feedErr := make(chan error, 1)
	go func() {
		for {
			if _, err := feed.Next(ctx); err != nil {
				feedErr <- err
				return
			}
			poke()
		}
	}()
	var lw *watch.Watcher
	var stopLocal func()
	startWatch := func() bool {
		w, done, err := watchLocal(o)
		if err != nil {
			o.Logger.Debug("local folder not watched yet", "err", err)
			return false
		}
		lw = w
		go func() {
			for range w.Events() {
				poke()
			}
		}()
		stopLocal = done
		return true
	}
	defer func() {
		if stopLocal != nil {
			stopLocal()
		}
	}()
	for {
		// Watch before scanning, so that nothing is missed in between;
		// a folder the first run makes is watched right after it, and
		// scanned once more.
		if lw == nil {
			startWatch()
		}
		sum, err := RunOnce(ctx, rc, o)
		report(sum, err)
		if err != nil && (errors.Is(err, ErrUnsafe) || errors.Is(err, ErrWrongKey) || rc.Err() != nil) {
			return err
		}
		if lw == nil && startWatch() {
			continue
		}
		select {
		case <-wake:
		case err := <-feedErr:
			return err
		case <-rc.Done():
			return rc.Err()
		case <-stop:
			return nil
		case <-ctx.Done():
			return nil
		}
		// Gather the rest of a burst.
		t := time.NewTimer(settle)
		select {
		case <-t.C:
		case <-stop:
			t.Stop()
			return nil
		}
		select {
		case <-wake:
		default:
		}
	}
}

// watchLocal watches the local folder, leaving out sync's own files; done
// stops it.
func watchLocal(o Options) (*watch.Watcher, func(), error) {
	r, err := rootfs.Open(o.Local)
	if err != nil {
		return nil, nil, err
	}
	w, err := watch.New(r, "", watch.Options{Logger: o.Logger, Exclude: func(p string, dir bool) bool {
		first, _, _ := strings.Cut(p, "/")
		return first == core.StateDir || strings.HasPrefix(core.Base(p), core.TempPrefix)
	}})
	if err != nil {
		r.Close()
		return nil, nil, err
	}
	return w, func() { w.Close(); r.Close() }, nil
}
