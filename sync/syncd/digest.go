package syncd

import (
	"strings"

	"simplecloud/sync/proto"
)

// maxHeld bounds the entries a digest listing holds back at once (those of
// the directories open in the walk, until each is known to match or not):
// about 130 bytes each. Past it the directory being walked is sent as it
// comes, as without digests.
const maxHeld = 1 << 16

// recvDigests reads the DirDigests frames that follow a List with
// Digests, up to the final one: the digests by number and the numbers by
// path.
func (s *session) recvDigests(r *request) ([]proto.DirDigest, map[string]int, error) {
	var sums []proto.DirDigest
	want := map[string]int{}
	for {
		var f proto.Frame
		select {
		case f = <-r.in:
		case <-r.ctx.Done():
			return nil, nil, r.ctx.Err()
		}
		m, ok := f.Msg.(*proto.DirDigests)
		if !ok {
			return nil, nil, badRequest("a list with digests got %T, not its digests", f.Msg)
		}
		if len(sums)+len(m.Dirs) > proto.MaxDigests {
			return nil, nil, badRequest("digests of more than %d directories", proto.MaxDigests)
		}
		for _, d := range m.Dirs {
			if _, dup := want[d.Path]; dup {
				return nil, nil, badRequest("two digests of directory %q", d.Path)
			}
			want[d.Path] = len(sums)
			sums = append(sums, d.Digest)
		}
		if f.Final {
			return sums, want, nil
		}
	}
}

// digestList sends a listing against the client's digests: each
// directory's direct entries are held back until the walk leaves it, then
// sent, or, when their digest is the client's, replaced by the client's
// number of it in EntryBatch.Same. A walk reports paths in byte order, so
// the directories it is in form a stack, and a directory is finished when
// a path outside it comes.
type digestList struct {
	b     *batcher
	sums  []proto.DirDigest
	want  map[string]int
	stack []*openDir
	spare []*openDir
	held  int // entries held in the stack
}

// openDir is a directory the walk is in.
type openDir struct {
	path    string
	idx     int // the client's number of it
	sending bool
	d       proto.Digester
	held    []proto.Entry
}

func newDigestList(b *batcher, base string, sums []proto.DirDigest, want map[string]int) *digestList {
	l := &digestList{b: b, sums: sums, want: want}
	l.push(base)
	return l
}

// add takes the next entry of the walk (below the listed path).
func (l *digestList) add(e proto.Entry) error {
	parent, name := "", e.Path
	if i := strings.LastIndexByte(e.Path, '/'); i >= 0 {
		parent, name = e.Path[:i], e.Path[i+1:]
	}
	for top := l.stack[len(l.stack)-1]; top.path != parent; top = l.stack[len(l.stack)-1] {
		if len(l.stack) > 1 && !within(parent, top.path) {
			if err := l.pop(); err != nil {
				return err
			}
			continue
		}
		l.push(parent)
	}
	o := l.stack[len(l.stack)-1]
	if o.sending {
		return l.b.add(e)
	}
	o.d.Add(name, &e)
	o.held = append(o.held, e)
	l.held++
	if (e.Kind == proto.KindFile && e.Hash.IsZero()) || l.held > maxHeld {
		// A file without a hash never matches; too much held back is
		// sent now.
		return l.release(o)
	}
	return nil
}

// within reports whether p is d or below it.
func within(p, d string) bool {
	return d == "" || p == d || len(p) > len(d) && p[len(d)] == '/' && p[:len(d)] == d
}

func (l *digestList) push(p string) {
	var o *openDir
	if n := len(l.spare); n > 0 {
		o, l.spare = l.spare[n-1], l.spare[:n-1]
	} else {
		o = new(openDir)
	}
	idx, ok := l.want[p]
	o.path, o.idx, o.sending, o.held = p, idx, !ok, o.held[:0]
	o.d.Reset()
	l.stack = append(l.stack, o)
}

// release sends what o holds and the rest of it as it comes.
func (l *digestList) release(o *openDir) error {
	o.sending = true
	l.held -= len(o.held)
	for i := range o.held {
		if err := l.b.add(o.held[i]); err != nil {
			return err
		}
	}
	clear(o.held)
	o.held = o.held[:0]
	return nil
}

// pop finishes the innermost open directory.
func (l *digestList) pop() error {
	o := l.stack[len(l.stack)-1]
	l.stack = l.stack[:len(l.stack)-1]
	l.spare = append(l.spare, o)
	if o.sending {
		return nil
	}
	if sum, ok := o.d.Sum(); ok && sum == l.sums[o.idx] {
		l.held -= len(o.held)
		clear(o.held)
		o.held = o.held[:0]
		return l.b.addSame(o.idx)
	}
	return l.release(o)
}

// finish finishes every open directory, after the walk.
func (l *digestList) finish() error {
	for len(l.stack) > 0 {
		if err := l.pop(); err != nil {
			return err
		}
	}
	return nil
}
