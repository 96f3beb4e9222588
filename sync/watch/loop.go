package watch

import (
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"golang.org/x/sys/unix"
)

// rawEvent is one inotify event as the kernel gives it.
type rawEvent struct {
	wd     int
	mask   uint32
	cookie uint32
	name   string
}

// parse decodes a buffer of struct inotify_event records: wd (i32), mask,
// cookie, len (u32), then len bytes of NUL-padded name.
func parse(b []byte) ([]rawEvent, error) {
	var out []rawEvent
	for len(b) > 0 {
		if len(b) < unix.SizeofInotifyEvent {
			return out, fmt.Errorf("inotify: %d stray bytes", len(b))
		}
		n := int(binary.NativeEndian.Uint32(b[12:16]))
		if len(b) < unix.SizeofInotifyEvent+n {
			return out, fmt.Errorf("inotify: name of %d bytes past the buffer", n)
		}
		name := b[unix.SizeofInotifyEvent : unix.SizeofInotifyEvent+n]
		for len(name) > 0 && name[len(name)-1] == 0 {
			name = name[:len(name)-1]
		}
		out = append(out, rawEvent{wd: int(int32(binary.NativeEndian.Uint32(b[0:4]))),
			mask: binary.NativeEndian.Uint32(b[4:8]), cookie: binary.NativeEndian.Uint32(b[8:12]), name: string(name)})
		b = b[unix.SizeofInotifyEvent+n:]
	}
	return out, nil
}

// read reads events until the wake descriptor fires, then closes raw.
func (w *Watcher) read(raw chan<- []rawEvent) {
	defer close(raw)
	buf := make([]byte, 64<<10)
	fds := []unix.PollFd{{Fd: int32(w.fd), Events: unix.POLLIN}, {Fd: int32(w.wake), Events: unix.POLLIN}}
	for {
		_, err := unix.Poll(fds, -1)
		if err != nil && !errors.Is(err, unix.EINTR) {
			w.fail(fmt.Errorf("watch: poll: %w", err))
			return
		}
		if fds[1].Revents != 0 {
			return
		}
		if fds[0].Revents == 0 {
			continue
		}
		n, err := unix.Read(w.fd, buf)
		if errors.Is(err, unix.EAGAIN) || errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			w.fail(fmt.Errorf("watch: read: %w", err))
			return
		}
		evs, err := parse(buf[:n])
		if err != nil {
			w.fail(err)
			return
		}
		select {
		case raw <- evs:
		case <-w.quit:
			return
		}
	}
}

func (w *Watcher) fail(err error) {
	w.mu.Lock()
	w.err = err
	w.mu.Unlock()
}

// batch gathers events until they are sent.
type batch struct {
	order []string
	sub   map[string]bool
}

func (b *batch) add(p string, subtree bool) bool {
	if b.sub == nil {
		b.sub = map[string]bool{}
	}
	s, ok := b.sub[p]
	b.sub[p] = s || subtree
	if !ok {
		b.order = append(b.order, p)
	}
	return !ok && len(b.order) == 1
}

func (b *batch) take() []Event {
	out := make([]Event, len(b.order))
	for i, p := range b.order {
		out[i] = Event{Path: p, Subtree: b.sub[p]}
	}
	b.order, b.sub = nil, nil
	return out
}

// loop turns raw events into batches of Events.
func (w *Watcher) loop(raw <-chan []rawEvent) {
	defer close(w.done)
	defer close(w.out)
	defer w.closeFDs()
	var b batch
	var flush <-chan time.Time
	emit := func(p string, subtree bool) {
		if b.add(p, subtree) && flush == nil {
			flush = time.After(w.opt.Coalesce)
		}
	}
	quiet := time.NewTicker(max(w.opt.Quiet/4, time.Millisecond))
	defer quiet.Stop()
	rescan := time.NewTicker(w.opt.RescanEvery)
	defer rescan.Stop()
	for {
		select {
		case evs, ok := <-raw:
			if !ok {
				return
			}
			for _, ev := range evs {
				w.handle(ev, emit)
			}
		case <-flush:
			flush = nil
			select {
			case w.out <- b.take():
			case <-w.quit:
				for range raw {
				}
				return
			}
		case now := <-quiet.C:
			for p, t := range w.pending {
				if now.Sub(t) >= w.opt.Quiet {
					delete(w.pending, p)
					emit(p, false)
				}
			}
		case <-rescan.C:
			for p := range w.unwatched {
				w.addTree(p) // the limit may have been raised
				emit(p, true)
			}
		case <-w.quit:
			for range raw {
			}
			return
		}
	}
}

// handle applies one inotify event to the watch table and emits what may
// have changed.
func (w *Watcher) handle(ev rawEvent, emit func(string, bool)) {
	if ev.mask&unix.IN_Q_OVERFLOW != 0 {
		w.opt.Logger.Info("inotify queue overflow: rescanning", "dir", w.dir)
		w.addTree(w.dir)
		emit(w.dir, true)
		return
	}
	dir, ok := w.wds[ev.wd]
	if !ok {
		return
	}
	if ev.mask&unix.IN_IGNORED != 0 {
		delete(w.wds, ev.wd)
		if w.byPath[dir] == ev.wd {
			delete(w.byPath, dir)
		}
		return
	}
	if ev.name == "" {
		return // the directory itself: its parent reports it
	}
	p := join(dir, ev.name)
	isDir := ev.mask&unix.IN_ISDIR != 0
	if w.excluded(p, isDir) {
		return
	}
	switch {
	case isDir && ev.mask&(unix.IN_CREATE|unix.IN_MOVED_TO) != 0:
		if err := w.addTree(p); err != nil {
			w.opt.Logger.Debug("watch new directory", "path", p, "err", err)
		}
		emit(p, true)
	case isDir && ev.mask&(unix.IN_DELETE|unix.IN_MOVED_FROM) != 0:
		w.forget(p)
		emit(p, true)
	case isDir:
		emit(p, false)
	case ev.mask&unix.IN_MODIFY != 0:
		w.pending[p] = time.Now()
	case ev.mask&unix.IN_CREATE != 0:
		// A new regular file is reported once closed; a link, a fifo,
		// a hard link (no close follows) after Quiet at the latest.
		if st, err := w.root.Lstat(p); err == nil && st.Mode&unix.S_IFMT == unix.S_IFREG {
			w.pending[p] = time.Now()
		} else {
			emit(p, false)
		}
	case ev.mask&unix.IN_CLOSE_WRITE != 0:
		delete(w.pending, p)
		emit(p, false)
	case ev.mask&unix.IN_ATTRIB != 0:
		if _, writing := w.pending[p]; !writing {
			emit(p, false)
		}
	default: // deleted, moved out or in
		delete(w.pending, p)
		emit(p, false)
	}
}
