package remote

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"
	"unicode"

	"golang.org/x/sys/unix"

	"simplecloud/sync/proto"
)

// Target is a server folder as the command line names it.
type Target struct {
	User string // "" leaves it to ssh (its config, or the local name)
	Host string // a name, an address, or a bracketed IPv6 address
	Path string // below the user's root on the server; "" is the root
}

// String formats the target as it was written.
func (t Target) String() string {
	s := t.Host + ":" + t.Path
	if t.User != "" {
		s = t.User + "@" + s
	}
	return s
}

// Split splits [USER@]HOST[:PATH], keeping the brackets of an IPv6 HOST;
// colon says whether a ":" followed the host.
func Split(s string) (user, host, path string, colon bool, err error) {
	hostPath := s
	if u, rest, ok := strings.Cut(s, "@"); ok && !strings.ContainsAny(u, ":/[") {
		if u == "" {
			return "", "", "", false, fmt.Errorf("parse %q: empty user before @", s)
		}
		user, hostPath = u, rest
	}
	host = hostPath
	if strings.HasPrefix(hostPath, "[") {
		end := strings.Index(hostPath, "]")
		if end < 0 {
			return "", "", "", false, fmt.Errorf("parse %q: unclosed [ in host", s)
		}
		host = hostPath[:end+1]
		rest := hostPath[end+1:]
		if rest != "" && !strings.HasPrefix(rest, ":") {
			return "", "", "", false, fmt.Errorf("parse %q: want [USER@][ADDR]:PATH", s)
		}
		path, colon = strings.TrimPrefix(rest, ":"), rest != ""
	} else if h, p, ok := strings.Cut(hostPath, ":"); ok {
		host, path, colon = h, p, true
	}
	if host == "" || host == "[]" || strings.HasPrefix(host, "-") || strings.ContainsAny(host, "/ ") {
		return "", "", "", false, fmt.Errorf("parse %q: empty or bad host", s)
	}
	return user, host, path, colon, nil
}

// ParseTarget parses [USER@]HOST:PATH. PATH is relative to the user's root
// on the server (a leading "/" or "~/" means the same); the colon is
// required, as with rsync and scp, so that a local path is never taken for
// a host.
func ParseTarget(s string) (Target, error) {
	user, host, path, colon, err := Split(s)
	if err != nil {
		return Target{}, err
	}
	if !colon {
		return Target{}, fmt.Errorf("%q is not a server folder: want [USER@]HOST:PATH (the colon marks the host)", s)
	}
	path = strings.TrimPrefix(path, "~")
	path = strings.Trim(path, "/")
	for _, el := range strings.Split(path, "/") {
		if el == ".." || (el == "" && path != "") || el == "." {
			return Target{}, fmt.Errorf("parse %q: the path must not hold empty, . or .. elements", s)
		}
	}
	return Target{User: user, Host: host, Path: path}, nil
}

// SSHOptions are the transport's settings from the command line.
type SSHOptions struct {
	Command  string // -e/--rsh: the ssh command with its options; default "ssh"
	Port     int    // -p
	Identity string // -i
}

// SSHArgv returns the command that connects to t's sync subsystem:
// CMD [-p PORT] [-i IDENTITY] -s [USER@]HOST simplecloud-sync. CMD is split
// as rsync splits -e: on white space, with single and double quotes.
func SSHArgv(t Target, o SSHOptions) ([]string, error) {
	cmd := o.Command
	if cmd == "" {
		cmd = "ssh"
	}
	argv, err := splitCommand(cmd)
	if err != nil {
		return nil, err
	}
	if len(argv) == 0 {
		return nil, errors.New("the ssh command is empty")
	}
	if o.Port < 0 || o.Port > 65535 {
		return nil, fmt.Errorf("port %d out of range", o.Port)
	}
	if o.Port != 0 {
		argv = append(argv, "-p", strconv.Itoa(o.Port))
	}
	if o.Identity != "" {
		argv = append(argv, "-i", o.Identity)
	}
	host := strings.TrimSuffix(strings.TrimPrefix(t.Host, "["), "]")
	if t.User != "" {
		host = t.User + "@" + host
	}
	return append(argv, "-s", host, "simplecloud-sync"), nil
}

// splitCommand splits a command line on white space, honouring single and
// double quotes and backslash escapes outside single quotes.
func splitCommand(s string) ([]string, error) {
	var out []string
	var cur strings.Builder
	in, quote, esc := false, rune(0), false
	for _, r := range s {
		switch {
		case esc:
			cur.WriteRune(r)
			esc, in = false, true
		case r == '\\' && quote != '\'':
			esc = true
		case quote != 0 && r == quote:
			quote = 0
		case quote != 0:
			cur.WriteRune(r)
		case r == '\'' || r == '"':
			quote, in = r, true
		case unicode.IsSpace(r):
			if in {
				out = append(out, cur.String())
				cur.Reset()
				in = false
			}
		default:
			cur.WriteRune(r)
			in = true
		}
	}
	if quote != 0 || esc {
		return nil, fmt.Errorf("parse command %q: unterminated quote or escape", s)
	}
	if in {
		out = append(out, cur.String())
	}
	return out, nil
}

// process is the transport: the command's stdin and stdout.
type process struct {
	io.Reader
	in  *os.File // the command's stdin, a pipe
	cmd *exec.Cmd
}

// Write writes to the command's stdin.
func (p *process) Write(b []byte) (int, error) { return p.in.Write(b) }

// WriteFile splices a file's bytes into the command's stdin (see
// proto.FileWriter).
func (p *process) WriteFile(f *os.File, at int64, n int) (int, error) {
	return proto.SpliceFile(p.in, f, at, n)
}

// Close closes the command's stdin and waits for it to end, killing it
// after 5 seconds.
func (p *process) Close() error {
	p.in.Close()
	done := make(chan error, 1)
	go func() { done <- p.cmd.Wait() }()
	var err error
	select {
	case err = <-done:
	case <-time.After(5 * time.Second):
		p.cmd.Process.Kill()
		err = <-done
	}
	if c, ok := p.Reader.(io.Closer); ok {
		c.Close()
	}
	return err
}

// pipeSize is the buffer of the pipes to and from the command, the most an
// unprivileged process may ask for (fs.pipe-max-size). With the default 64
// KiB a Data frame of 256 KiB took four or more wake-ups of the writer as
// ssh drained the pipe 32 KiB at a time.
const pipeSize = 1 << 20

// pipe returns a pipe grown to pipeSize where the system allows it.
func pipe() (r, w *os.File, err error) {
	r, w, err = os.Pipe()
	if err != nil {
		return nil, nil, err
	}
	if rc, err := w.SyscallConn(); err == nil {
		rc.Control(func(fd uintptr) {
			unix.FcntlInt(fd, unix.F_SETPIPE_SZ, pipeSize) // else the default size
		})
	}
	return r, w, nil
}

// Start runs argv (from SSHArgv) with its stdin and stdout as the returned
// stream and its stderr to stderr (ssh's own messages: a host key prompt,
// a refused login). ctx kills it.
func Start(ctx context.Context, argv []string, stderr io.Writer) (io.ReadWriteCloser, error) {
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	if stderr == nil {
		stderr = os.Stderr
	}
	cmd.Stderr = stderr
	inR, inW, err := pipe()
	if err != nil {
		return nil, fmt.Errorf("run %s: %w", argv[0], err)
	}
	outR, outW, err := pipe()
	if err != nil {
		inR.Close()
		inW.Close()
		return nil, fmt.Errorf("run %s: %w", argv[0], err)
	}
	cmd.Stdin, cmd.Stdout = inR, outW
	err = cmd.Start()
	// The command's ends are its own now (or no one's).
	inR.Close()
	outW.Close()
	if err != nil {
		inW.Close()
		outR.Close()
		return nil, fmt.Errorf("run %s: %w", argv[0], err)
	}
	return &process{Reader: outR, in: inW, cmd: cmd}, nil
}
