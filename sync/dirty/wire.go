package dirty

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"

	"golang.org/x/sys/unix"
)

// The socket between a connection child and the parent carries requests
// of the child, one at a time, each answered:
//
//	'M' with one descriptor (SCM_RIGHTS): mark its file system.
//	    Answer: status (1 byte).
//	'Q' epoch (8) gen (8) count (4), then count handles, each a length
//	    (1 byte) and the handle (type and bytes, see Handle): which of
//	    these directories of the marked file system changed since the
//	    stamp. Answer: status, epoch (8), gen (8) (the stamp now), count
//	    (4) and a bitmap of count bits, 1 = changed.
//
// Status 0 is an answer; anything else (no mark yet, the oracle off)
// means "everything changed" and nothing follows it. Numbers are
// little-endian. A request the parent cannot decode ends the socket.
const (
	opMark  = 'M'
	opQuery = 'Q'

	statusOK  = 0
	statusOff = 1

	// MaxQuery is the most handles of one query; a client asks in parts.
	MaxQuery = 1 << 14
)

// Client asks the parent's Group over a connection child's socket. It is
// safe for concurrent use (one request at a time). A nil *Client is an
// oracle that is off.
type Client struct {
	mu sync.Mutex
	c  *net.UnixConn
}

// NewClient returns a client on c.
func NewClient(c *net.UnixConn) *Client { return &Client{c: c} }

// Mark asks the parent to mark the file system of fd (an O_PATH
// descriptor of the user's root will do).
func (c *Client) Mark(fd int) error {
	if c == nil {
		return errors.New("mark file system: no oracle")
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, _, err := c.c.WriteMsgUnix([]byte{opMark}, unix.UnixRights(fd), nil); err != nil {
		return fmt.Errorf("mark file system: %w", err)
	}
	var st [1]byte
	if _, err := io.ReadFull(c.c, st[:]); err != nil {
		return fmt.Errorf("mark file system: %w", err)
	}
	if st[0] != statusOK {
		return errors.New("mark file system: refused")
	}
	return nil
}

// Changed asks which of the directories (by Handle) changed since the
// stamp, and the stamp now, taken before the first part is answered.
func (c *Client) Changed(since Stamp, handles [][]byte) (Stamp, []bool, error) {
	if c == nil {
		return Stamp{}, nil, errors.New("dirty directories: no oracle")
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	var now Stamp
	out := make([]bool, 0, len(handles))
	for first := true; first || len(handles) > 0; first = false {
		part := handles[:min(len(handles), MaxQuery)]
		handles = handles[len(part):]
		st, bits, err := c.query(since, part)
		if err != nil {
			return Stamp{}, nil, fmt.Errorf("dirty directories: %w", err)
		}
		if first {
			now = st
		}
		out = append(out, bits...)
	}
	return now, out, nil
}

func (c *Client) query(since Stamp, handles [][]byte) (Stamp, []bool, error) {
	b := []byte{opQuery}
	b = binary.LittleEndian.AppendUint64(b, since.Epoch)
	b = binary.LittleEndian.AppendUint64(b, since.Gen)
	b = binary.LittleEndian.AppendUint32(b, uint32(len(handles)))
	for _, h := range handles {
		if len(h) < 4 || len(h) > 4+maxHandle {
			return Stamp{}, nil, fmt.Errorf("handle of %d bytes", len(h))
		}
		b = append(append(b, byte(len(h))), h...)
	}
	if _, err := c.c.Write(b); err != nil {
		return Stamp{}, nil, err
	}
	var hdr [21]byte
	if _, err := io.ReadFull(c.c, hdr[:1]); err != nil {
		return Stamp{}, nil, err
	}
	if hdr[0] != statusOK {
		return Stamp{}, nil, errors.New("the oracle is off")
	}
	if _, err := io.ReadFull(c.c, hdr[1:]); err != nil {
		return Stamp{}, nil, err
	}
	now := Stamp{Epoch: binary.LittleEndian.Uint64(hdr[1:]), Gen: binary.LittleEndian.Uint64(hdr[9:])}
	n := int(binary.LittleEndian.Uint32(hdr[17:]))
	if n != len(handles) {
		return Stamp{}, nil, fmt.Errorf("answer for %d handles, asked %d", n, len(handles))
	}
	bm := make([]byte, (n+7)/8)
	if _, err := io.ReadFull(c.c, bm); err != nil {
		return Stamp{}, nil, err
	}
	out := make([]bool, n)
	for i := range out {
		out[i] = bm[i/8]&(1<<(i%8)) != 0
	}
	return now, out, nil
}

// Oracle is what Serve needs of a Group (a fake in tests).
type Oracle interface {
	Mark(fd int) ([2]int32, error)
	Changed(since Stamp, fsid [2]int32, handles [][]byte) (Stamp, []bool)
}

// Serve answers a connection child's requests on c with g (nil: the
// oracle is off, every query answered so) until c ends or carries a
// request it cannot decode. The child runs as the user: sizes are
// bounded, descriptors other than a mark's one are closed.
func Serve(c *net.UnixConn, g Oracle) error {
	var fsid [2]int32
	marked := false
	op := make([]byte, 1)
	oob := make([]byte, unix.CmsgSpace(4*4))
	for {
		n, oobn, _, _, err := c.ReadMsgUnix(op, oob)
		if n == 0 || err != nil {
			if err == nil || errors.Is(err, io.EOF) {
				return nil
			}
			return fmt.Errorf("read request: %w", err)
		}
		fds := rights(oob[:oobn])
		switch op[0] {
		case opMark:
			st := byte(statusOff)
			if len(fds) == 1 && g != nil {
				if id, err := g.Mark(fds[0]); err == nil {
					fsid, marked, st = id, true, statusOK
				}
			}
			closeAll(fds)
			if _, err := c.Write([]byte{st}); err != nil {
				return fmt.Errorf("answer mark: %w", err)
			}
		case opQuery:
			closeAll(fds)
			since, handles, err := readQuery(c)
			if err != nil {
				return err
			}
			if !marked || g == nil {
				if _, err := c.Write([]byte{statusOff}); err != nil {
					return fmt.Errorf("answer query: %w", err)
				}
				continue
			}
			now, bits := g.Changed(since, fsid, handles)
			if _, err := c.Write(answer(now, bits)); err != nil {
				return fmt.Errorf("answer query: %w", err)
			}
		default:
			closeAll(fds)
			return fmt.Errorf("request %q: unknown", op[0])
		}
	}
}

// readQuery reads a query's body after its op.
func readQuery(r io.Reader) (Stamp, [][]byte, error) {
	var hdr [20]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return Stamp{}, nil, fmt.Errorf("read query: %w", err)
	}
	since := Stamp{Epoch: binary.LittleEndian.Uint64(hdr[:]), Gen: binary.LittleEndian.Uint64(hdr[8:])}
	n := binary.LittleEndian.Uint32(hdr[16:])
	if n > MaxQuery {
		return Stamp{}, nil, fmt.Errorf("query of %d handles, at most %d", n, MaxQuery)
	}
	handles := make([][]byte, n)
	var l [1]byte
	for i := range handles {
		if _, err := io.ReadFull(r, l[:]); err != nil {
			return Stamp{}, nil, fmt.Errorf("read query: %w", err)
		}
		if l[0] < 4 || int(l[0]) > 4+maxHandle {
			return Stamp{}, nil, fmt.Errorf("query: handle of %d bytes", l[0])
		}
		handles[i] = make([]byte, l[0])
		if _, err := io.ReadFull(r, handles[i]); err != nil {
			return Stamp{}, nil, fmt.Errorf("read query: %w", err)
		}
	}
	return since, handles, nil
}

// answer encodes a query's answer.
func answer(now Stamp, bits []bool) []byte {
	b := []byte{statusOK}
	b = binary.LittleEndian.AppendUint64(b, now.Epoch)
	b = binary.LittleEndian.AppendUint64(b, now.Gen)
	b = binary.LittleEndian.AppendUint32(b, uint32(len(bits)))
	bm := make([]byte, (len(bits)+7)/8)
	for i, v := range bits {
		if v {
			bm[i/8] |= 1 << (i % 8)
		}
	}
	return append(b, bm...)
}

// rights returns the descriptors passed in oob, if any.
func rights(oob []byte) []int {
	msgs, err := unix.ParseSocketControlMessage(oob)
	if err != nil {
		return nil
	}
	var fds []int
	for _, m := range msgs {
		if f, err := unix.ParseUnixRights(&m); err == nil {
			fds = append(fds, f...)
		}
	}
	return fds
}

func closeAll(fds []int) {
	for _, fd := range fds {
		unix.Close(fd)
	}
}
