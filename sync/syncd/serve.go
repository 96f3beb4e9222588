package syncd

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"sync"
	"time"

	"simplecloud/sync/durable"
	"simplecloud/sync/proto"
	"simplecloud/sync/rootfs"
	"simplecloud/sync/scan"
	"simplecloud/sync/versions"
)

// Options configure Serve.
type Options struct {
	// Epoch names this server's run: new at every server start (the serve
	// parent picks it), so clients know a change feed did not survive.
	Epoch uint64
	// Versions keeps what sync replaces or deletes; nil keeps nothing.
	Versions *versions.Store
	// Umask is taken from the mode of files and directories the sync
	// creates (not of those it replaces, which keep the mode sent).
	Umask uint32
	// Agent is sent in the Welcome.
	Agent string
	// MaxInflight bounds the requests served at once (default and most:
	// proto.MaxInflight).
	MaxInflight int
	// Oracle, when set, tells listings which directories changed since the
	// last one (scan.Options.Oracle); nil: every file is stat'ed.
	Oracle scan.Oracle
	// Now is the clock (default time.Now), for tests.
	Now    func() time.Time
	Logger *slog.Logger
}

// session is one client's connection.
type session struct {
	conn    *proto.Conn
	root    *rootfs.Root
	opt     Options
	log     *slog.Logger
	agent   string           // the client's, from its hello
	scans   [2]sync.Pool     // *scan.Scanner by proto.Format; a Scanner is not safe for concurrent use
	disk    *dirSyncs        // group commits (durable.go)
	content *durable.Content // uploads' content
	// unhashed: the client has proto.CapUnhashed, so a Commit's zero
	// hash means "the hash of what you received" (commit).
	unhashed bool
	// formats remembers directories' folder formats for a moment
	// (format_memo.go).
	formats formatMemo

	mu    sync.Mutex
	reqs  map[uint32]*request
	temps []string // upload temporary files scans passed (see removeStaleTemps)
	wg    sync.WaitGroup
	sem   chan struct{}
	// workers run the requests (workers.go).
	workers workers
}

// request is one open request.
type request struct {
	id     uint32
	ctx    context.Context
	cancel context.CancelFunc
	in     chan proto.Frame // an upload's Data, Copy and Commit frames; a list's DirDigests
	done   chan struct{}    // closed when the handler returns
	// cancelNow: a Cancel stops the request at once rather than coming
	// in order through in (a list, which stops reading in early).
	cancelNow bool
}

// Serve does the handshake on rw and serves requests until the client says
// Bye or closes the stream, then waits for the requests in flight. root is
// the user's root; Serve makes its own strict Root over the same handle.
// It returns nil after a clean end, else why the connection ended.
func Serve(ctx context.Context, rw io.ReadWriter, root *rootfs.Root, o Options) error {
	if o.MaxInflight <= 0 || o.MaxInflight > proto.MaxInflight {
		o.MaxInflight = proto.MaxInflight
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	w := proto.Welcome{Agent: o.Agent, Epoch: o.Epoch, MaxInflight: uint32(o.MaxInflight), Caps: []string{proto.CapFlush, proto.CapNodes, proto.CapSealed, proto.CapDigests, proto.CapUnhashed}}
	if o.Versions != nil {
		w.Caps = append(w.Caps, proto.CapVersions)
	}
	conn, hello, err := proto.Accept(rw, w)
	if err != nil {
		return fmt.Errorf("sync handshake: %w", err)
	}
	s := &session{conn: conn, root: root.Strict(), opt: o, log: o.Logger.With("agent", hello.Agent), agent: hello.Agent,
		reqs: map[uint32]*request{}, sem: make(chan struct{}, o.MaxInflight), workers: newWorkers()}
	s.log.Debug("sync session", "version", conn.Version)
	s.disk = newDirSyncs(s.root, slices.Contains(hello.Caps, proto.CapFlush))
	// Before any upload writes: its syncfs reports every writeback error
	// since (durable.Content).
	s.content = durable.ForRoot(s.root, s.log)
	defer s.content.Close()
	s.unhashed = slices.Contains(hello.Caps, proto.CapUnhashed)
	s.removeStale()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	bye, err := s.loop(ctx)
	if !bye {
		// The stream ended or broke: nothing more can arrive for an
		// upload and no answer can be delivered; stop what is in flight.
		cancel()
	}
	s.wg.Wait()
	s.workers.stop()
	return err
}

// loop reads frames and hands them out until Bye (bye) or the end of the
// stream.
func (s *session) loop(ctx context.Context) (bye bool, err error) {
	for {
		f, err := s.conn.Recv()
		if err == io.EOF { // only a bare EOF between frames is a clean end
			return false, nil
		}
		if err != nil {
			return false, fmt.Errorf("read sync request: %w", err)
		}
		if f.ID == 0 {
			if _, ok := f.Msg.(*proto.Bye); ok {
				return true, nil
			}
			return false, fmt.Errorf("read sync request: %w: %T on id 0", proto.ErrFrame, f.Msg)
		}
		switch f.Msg.(type) {
		case *proto.Cancel, *proto.Data, *proto.Copy, *proto.Commit, *proto.DirDigests:
			r := s.lookup(f.ID)
			if r == nil {
				// Ended already (an upload that failed early, whose
				// client has not heard yet): dropped.
				break
			}
			if _, cancel := f.Msg.(*proto.Cancel); r.in == nil || cancel && r.cancelNow {
				if cancel {
					r.cancel()
				}
				break
			}
			// An upload takes its frames in order, a Cancel after the
			// data sent before it.
			select {
			case r.in <- f:
			case <-r.done:
			case <-ctx.Done():
				return false, ctx.Err()
			}
		default:
			if err := s.start(ctx, f); err != nil {
				return false, err
			}
		}
	}
}

// lookup returns the open request id, or nil.
func (s *session) lookup(id uint32) *request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.reqs[id]
}

// start runs a new request in its own goroutine, once a slot is free.
func (s *session) start(ctx context.Context, f proto.Frame) error {
	h := s.handler(f.Msg)
	if h == nil {
		return fmt.Errorf("read sync request: %w: %T is not a request", proto.ErrFrame, f.Msg)
	}
	select {
	case s.sem <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	rctx, cancel := context.WithCancel(ctx)
	r := &request{id: f.ID, ctx: rctx, cancel: cancel, done: make(chan struct{})}
	if _, ok := f.Msg.(*proto.Put); ok {
		r.in = make(chan proto.Frame, 16)
	}
	if l, ok := f.Msg.(*proto.List); ok && l.Digests && !f.Final {
		r.in, r.cancelNow = make(chan proto.Frame, 16), true
	}
	s.mu.Lock()
	if s.reqs[f.ID] != nil {
		s.mu.Unlock()
		<-s.sem
		cancel()
		return fmt.Errorf("read sync request: %w: request id %d is already open", proto.ErrFrame, f.ID)
	}
	s.reqs[f.ID] = r
	s.mu.Unlock()
	forget := changesFormats(f.Msg)
	if forget {
		s.formats.forget()
	}
	s.wg.Add(1)
	s.workers.run(func() {
		defer s.wg.Done()
		err := h(r)
		if forget {
			s.formats.forget()
		}
		s.mu.Lock()
		delete(s.reqs, r.id)
		s.mu.Unlock()
		close(r.done)
		cancel()
		<-s.sem
		if err != nil {
			s.fail(r.id, err)
		}
	})
	return nil
}

// handler returns the function serving a request message, nil for a
// message that is not a request.
func (s *session) handler(m proto.Message) func(*request) error {
	switch m := m.(type) {
	case *proto.List:
		return func(r *request) error { return s.list(r, m) }
	case *proto.Stat:
		return func(r *request) error { return s.stat(r, m) }
	case *proto.Chunks:
		return func(r *request) error { return s.chunks(r, m) }
	case *proto.Read:
		return func(r *request) error { return s.read(r, m) }
	case *proto.Put:
		return func(r *request) error { return s.put(r, m) }
	case *proto.Mkdir:
		return func(r *request) error { return s.mkdir(r, m) }
	case *proto.Symlink:
		return func(r *request) error { return s.symlink(r, m) }
	case *proto.Rename:
		return func(r *request) error { return s.rename(r, m) }
	case *proto.Delete:
		return func(r *request) error { return s.delete(r, m) }
	case *proto.SetAttr:
		return func(r *request) error { return s.setAttr(r, m) }
	case *proto.Versions:
		return func(r *request) error { return s.versions(r, m) }
	case *proto.Restore:
		return func(r *request) error { return s.restore(r, m) }
	case *proto.Subscribe:
		return func(r *request) error { return s.subscribe(r, m) }
	case *proto.Flush:
		return func(r *request) error { return s.flush(r) }
	case *proto.Node:
		return func(r *request) error { return s.node(r, m) }
	}
	return nil
}
