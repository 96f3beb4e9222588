package server

import (
	"bytes"
	"fmt"
	"io"
	"net"
)

// identMax is the longest identification line a client may send, CR LF
// included (RFC 4253, section 4.2).
const identMax = 255

// identReply is what a client whose first line is no SSH identification
// gets before the connection is closed, as sshd says it.
const identReply = "Invalid SSH identification string.\r\n"

// identPrefixes are the identification lines the server accepts: SSH 2,
// and SSH 1.99 (a client that also speaks SSH 1).
var identPrefixes = []string{"SSH-2.0-", "SSH-1.99-"}

// identError is a client's first line that is no SSH identification.
type identError struct {
	got []byte // its start
	why string
}

func (e *identError) Error() string {
	return fmt.Sprintf("invalid SSH identification string (%s): %q", e.why, e.got)
}

// checkIdent looks at the first bytes b a client sent. RFC 4253 lets only
// the server send lines before its identification, so the client's first
// line must be it. checkIdent reports whether b holds the whole line
// (ending in LF), and an error as soon as b cannot start one: a line that
// does not start "SSH-2.0-" or "SSH-1.99-", or is longer than identMax.
func checkIdent(b []byte) (complete bool, err error) {
	line := b
	end := bytes.IndexByte(b, '\n')
	if end >= 0 {
		line = b[:end+1]
	}
	if len(line) > identMax || (end < 0 && len(line) == identMax) {
		return false, &identError{got: cut(line, 40), why: fmt.Sprintf("longer than %d bytes", identMax)}
	}
	for _, p := range identPrefixes {
		if end < 0 && bytes.HasPrefix([]byte(p), line) || bytes.HasPrefix(line, []byte(p)) {
			return end >= 0, nil
		}
	}
	return false, &identError{got: cut(line, 40), why: "not SSH-2.0"}
}

func cut(b []byte, n int) []byte { return b[:min(len(b), n)] }

// exchangeIdent sends the server's identification line version (without
// CR LF) on c, reads the client's and checks it with checkIdent. A bad
// line gets identReply and an *identError. Else it returns c wrapped for
// the ssh package: it reads again what was read here, and it drops the
// package's own sending of version, which went out already. The server
// sends first, as sshd does, for clients that wait for its line.
func exchangeIdent(c net.Conn, version string) (net.Conn, error) {
	sent := []byte(version + "\r\n")
	if _, err := c.Write(sent); err != nil {
		return nil, fmt.Errorf("send identification: %w", err)
	}
	buf := make([]byte, 0, 2*identMax)
	for {
		n, err := c.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		done, bad := checkIdent(buf)
		switch {
		case bad != nil:
			io.WriteString(c, identReply)
			return nil, bad
		case done:
			return &identConn{Conn: c, replay: buf, sent: sent}, nil
		case err != nil:
			return nil, fmt.Errorf("read identification: %w", err)
		}
	}
}

// identConn is a connection whose identification lines were exchanged
// already, handed to the ssh package, which exchanges them itself: its
// first reads get the bytes read already, and its first write, its own
// identification line, is dropped. The package makes both before it
// starts the goroutines that use the connection.
type identConn struct {
	net.Conn
	replay []byte
	sent   []byte
}

func (c *identConn) Read(p []byte) (int, error) {
	if len(c.replay) > 0 {
		n := copy(p, c.replay)
		c.replay = c.replay[n:]
		return n, nil
	}
	return c.Conn.Read(p)
}

func (c *identConn) Write(p []byte) (int, error) {
	if c.sent != nil {
		if !bytes.Equal(p, c.sent) {
			return 0, fmt.Errorf("identification sent already: the ssh package wrote %q first", cut(p, 40))
		}
		c.sent = nil
		return len(p), nil
	}
	return c.Conn.Write(p)
}
