package server

import (
	"context"
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"

	"golang.org/x/crypto/ssh"
	"golang.org/x/sys/unix"

	"simplecloud/sync/rootfs"
)

// hashBufSize is the read size of a checksum: large enough that the
// system calls cost little next to the hashing.
const hashBufSize = 256 << 10

// newHash returns the digest of a checksum command.
func newHash(name string) hash.Hash {
	switch name {
	case "md5sum":
		return md5.New()
	case "sha1sum":
		return sha1.New()
	default:
		return sha256.New()
	}
}

// cmdRunner runs the commands answered in-process, for one user, below
// root. touch, if set, is called while a checksum reads, so that a long
// one counts as activity on the connection.
type cmdRunner struct {
	root  *rootfs.Root
	touch func()
}

// run runs cmd and returns its exit status: 0, or 1 after a coreutils-style
// message on stderr. A checksum stops reading when ctx ends.
func (r cmdRunner) run(ctx context.Context, cmd userCommand, stdin io.Reader, stdout, stderr io.Writer) uint32 {
	var out string
	var err error
	name := cmd.path
	switch {
	case cmd.name == "df":
		out, err = r.df(cmd.path)
	case cmd.stdin:
		name = "-"
		out, err = r.sum(ctx, cmd.name, stdin, name)
	default:
		out, err = r.sumFile(ctx, cmd.name, cmd.path)
	}
	if err != nil {
		var pe *os.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		io.WriteString(stderr, errorLine(cmd.name, name, err))
		return 1
	}
	if _, err := io.WriteString(stdout, out); err != nil {
		return 1
	}
	return 0
}

// sumFile is the checksum line of the file at p. The file is opened
// non-blocking (a FIFO must not hang the open) and closed when ctx ends,
// which also ends a read that waits.
func (r cmdRunner) sumFile(ctx context.Context, name, p string) (string, error) {
	f, err := r.root.OpenFile(p, unix.O_RDONLY|unix.O_NONBLOCK|unix.O_NOCTTY, 0, true)
	if err != nil {
		return "", err
	}
	defer f.Close()
	stop := context.AfterFunc(ctx, func() { f.Close() })
	defer stop()
	return r.sum(ctx, name, f, p)
}

// sum reads in to its end in pieces, hashing as it goes, and returns the
// checksum line for name.
func (r cmdRunner) sum(ctx context.Context, name string, in io.Reader, label string) (string, error) {
	h := newHash(name)
	buf := make([]byte, hashBufSize)
	for {
		if err := ctx.Err(); err != nil {
			return "", err
		}
		n, err := in.Read(buf)
		h.Write(buf[:n])
		if r.touch != nil && n > 0 {
			r.touch()
		}
		if err == io.EOF {
			return hashLine(h.Sum(nil), label), nil
		}
		if err != nil {
			if ctx.Err() != nil {
				return "", ctx.Err()
			}
			return "", err
		}
	}
}

// df is `df -k`'s table for the file system that holds p.
func (r cmdRunner) df(p string) (string, error) {
	st, err := r.root.StatFS(p)
	if err != nil {
		return "", err
	}
	frsize := uint64(st.Frsize)
	if frsize == 0 {
		frsize = uint64(st.Bsize)
	}
	return dfOutput(dfUsage{blocks: st.Blocks, bfree: st.Bfree, bavail: st.Bavail, frsize: frsize}, p), nil
}

// execCommand returns the command of an exec request when it is one the
// server answers in-process, or nil.
func execCommand(req *ssh.Request) *userCommand {
	if req.Type != "exec" {
		return nil
	}
	var m struct{ Command string }
	if err := ssh.Unmarshal(req.Payload, &m); err != nil {
		return nil
	}
	cmd, err := parseUserCommand(m.Command)
	if err != nil {
		return nil
	}
	return &cmd
}

// startExec runs cmd for the session on ch in this process, which already
// runs as the user. ctx ends when the channel closes; done receives the
// exit status once the output is sent.
func (s *connServer) startExec(ctx context.Context, c *conn, ch ssh.Channel, cmd *userCommand, done chan<- uint32) {
	c.log.Info("command answered", "command", cmd.name)
	c.log.Debug("command", "command", cmd.name, "path", cmd.path)
	go func() {
		code, err := s.runExec(ctx, c, ch, cmd)
		if err != nil {
			c.log.Info("command failed", "command", cmd.name, "err", err)
		}
		c.log.Debug("command ended", "command", cmd.name, "status", code)
		ch.CloseWrite()
		done <- code
	}()
}

// runExec opens the user's root and runs cmd with the channel's streams.
func (s *connServer) runExec(ctx context.Context, c *conn, ch ssh.Channel, cmd *userCommand) (uint32, error) {
	if os.Geteuid() == 0 && !s.cfg.PermitRoot {
		fmt.Fprintf(ch.Stderr(), "%s: refusing to run as root\n", cmd.name)
		return 1, errors.New("run command: refusing to run as root")
	}
	root, err := rootfs.Open(c.root)
	if err != nil {
		fmt.Fprintf(ch.Stderr(), "%s: cannot open your folder\n", cmd.name)
		return 1, err
	}
	defer root.Close()
	r := cmdRunner{root: root, touch: c.touch}
	return r.run(ctx, *cmd, activity{ch, c}, ch, ch.Stderr()), nil
}
