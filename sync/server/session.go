package server

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/sys/unix"
)

// copyBuffer is the size of the buffers that carry a session's bytes
// between the channel and the child: large, so that many SFTP packets move
// per system call and fill whole SSH packets.
const copyBuffer = 256 << 10

// channel accepts session channels and refuses every other type.
func (s *Server) channel(c *conn, nch ssh.NewChannel) {
	if nch.ChannelType() != "session" {
		c.log.Info("channel refused", "type", nch.ChannelType())
		nch.Reject(ssh.UnknownChannelType, "only session channels are offered")
		return
	}
	if int(c.sessions.Load()) >= s.cfg.MaxSessions {
		nch.Reject(ssh.ResourceShortage, "too many sessions")
		return
	}
	ch, reqs, err := nch.Accept()
	if err != nil {
		c.log.Info("accept channel", "err", err)
		return
	}
	c.sessions.Add(1)
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		defer c.sessions.Add(-1)
		s.session(c, ch, reqs)
	}()
}

// session serves the requests of one session channel. Only the sftp
// subsystem is offered: shells, commands, ptys, forwarding and environment
// are refused.
func (s *Server) session(c *conn, ch ssh.Channel, reqs <-chan *ssh.Request) {
	defer func() { go ssh.DiscardRequests(reqs) }()
	defer ch.Close()
	started := false
	done := make(chan uint32, 1)
	for {
		select {
		case code := <-done:
			ch.SendRequest("exit-status", false, ssh.Marshal(struct{ Status uint32 }{code}))
			return
		case req, ok := <-reqs:
			if !ok {
				if started {
					<-done
				}
				return
			}
			ok = false
			switch {
			case len(req.Payload) > s.cfg.MaxPacketRequest:
				c.log.Info("request refused", "type", req.Type, "reason", "too long", "bytes", len(req.Payload))
			case req.Type == "subsystem" && !started && subsystem(req.Payload) == "sftp":
				if err := s.startSFTP(c, ch, done); err != nil {
					c.log.Error("start sftp session", "err", err)
					break
				}
				started, ok = true, true
			case !started && (req.Type == "exec" || req.Type == "shell"):
				// Like sshd's "internal-sftp only" setups: accept, say why
				// on stderr, and exit 1, so that the client shows the reason.
				c.log.Info("request refused", "type", req.Type)
				if req.WantReply {
					req.Reply(true, nil)
				}
				fmt.Fprintf(ch.Stderr(), "simplecloud: this server offers only the sftp subsystem\r\n")
				ch.SendRequest("exit-status", false, ssh.Marshal(struct{ Status uint32 }{1}))
				return
			default:
				c.log.Debug("request refused", "type", req.Type)
			}
			if req.WantReply {
				req.Reply(ok, nil)
			}
		}
	}
}

// subsystem decodes a subsystem request's name.
func subsystem(payload []byte) string {
	var m struct{ Name string }
	if err := ssh.Unmarshal(payload, &m); err != nil {
		return ""
	}
	return m.Name
}

// startSFTP starts the user's session child and copies the channel's bytes
// to and from it. done receives the child's exit status when the copying
// ends.
func (s *Server) startSFTP(c *conn, ch ssh.Channel, done chan<- uint32) error {
	acct, err := s.auth.accounts.Lookup(c.user)
	if err != nil {
		return err
	}
	root, err := s.userRoot(acct)
	if err != nil {
		return err
	}
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("socketpair: %w", err)
	}
	mine, theirs := os.NewFile(uintptr(fds[0]), "session"), os.NewFile(uintptr(fds[1]), "session-child")
	defer theirs.Close()
	fc, err := net.FileConn(mine)
	mine.Close()
	if err != nil {
		return fmt.Errorf("session socket: %w", err)
	}
	sock := fc.(*net.UnixConn)
	cmd := s.childCmd(acct, root, theirs)
	if err := cmd.Start(); err != nil {
		sock.Close()
		return fmt.Errorf("start session child for %s: %w", acct.Name, err)
	}
	c.log.Info("sftp session started", "root", root, "pid", cmd.Process.Pid)
	go func() {
		io.CopyBuffer(sock, activity{ch, c}, make([]byte, copyBuffer))
		sock.CloseWrite()
	}()
	go func() {
		io.CopyBuffer(activity{ch, c}, sock, make([]byte, copyBuffer))
		ch.CloseWrite()
		sock.Close()
		done <- s.reap(c, cmd)
	}()
	return nil
}

// reap waits for a session child, killing it if it lingers after its
// socket closed, and returns its exit status.
func (s *Server) reap(c *conn, cmd *exec.Cmd) uint32 {
	t := time.AfterFunc(10*time.Second, func() { cmd.Process.Kill() })
	defer t.Stop()
	err := cmd.Wait()
	code := cmd.ProcessState.ExitCode()
	if err != nil {
		c.log.Info("sftp session ended", "pid", cmd.Process.Pid, "err", err)
	} else {
		c.log.Info("sftp session ended", "pid", cmd.Process.Pid)
	}
	if code < 0 {
		code = 255
	}
	return uint32(code)
}

// childCmd builds the session child's command: the same binary, with the
// user's uid, gid and groups, a clean environment, in its own session.
func (s *Server) childCmd(acct Account, root string, sock *os.File) *exec.Cmd {
	args := append(append([]string(nil), s.childArgv...),
		"--root", root, "--umask", strconv.FormatUint(uint64(s.cfg.Umask), 8), "--user", acct.Name)
	if s.cfg.PermitRoot {
		args = append(args, "--allow-root")
	}
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Env = []string{"HOME=" + acct.Home, "USER=" + acct.Name, "LOGNAME=" + acct.Name, "PATH=/usr/bin:/bin"}
	cmd.Dir = "/"
	cmd.Stderr = os.Stderr
	cmd.ExtraFiles = []*os.File{sock}
	// No Pdeathsig: it fires when the forking OS thread exits, and the
	// runtime ends threads (readAuthorizedKeys discards its locked thread),
	// which would kill healthy sessions. If the server dies, the kernel
	// closes its end of the socket and the child ends on EOF.
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Credential: &syscall.Credential{Uid: acct.UID, Gid: acct.GID, Groups: acct.Groups},
		Setsid:     true,
	}
	return cmd
}

// userRoot returns the directory the user sees as "/": Root/USER, made
// (mode 0700, owned by the user) when missing, or the home directory when
// no Root is configured. An existing Root/USER must be a directory owned by
// the user. The parent only makes and checks the directory; it never opens
// anything inside it.
func (s *Server) userRoot(a Account) (string, error) {
	if s.cfg.Root == "" {
		return a.Home, nil
	}
	dir := filepath.Join(s.cfg.Root, a.Name)
	err := os.Mkdir(dir, 0o700)
	if errors.Is(err, os.ErrExist) {
		st, err := os.Lstat(dir)
		if err != nil {
			return "", fmt.Errorf("check user root: %w", err)
		}
		if sys, ok := st.Sys().(*syscall.Stat_t); !st.IsDir() || !ok || sys.Uid != a.UID {
			return "", fmt.Errorf("check user root %s: not a directory owned by %s", dir, a.Name)
		}
		return dir, nil
	}
	if err != nil {
		return "", fmt.Errorf("make user root: %w", err)
	}
	if err := os.Lchown(dir, int(a.UID), int(a.GID)); err != nil {
		return "", fmt.Errorf("make user root: %w", err)
	}
	return dir, nil
}

// CheckRoot verifies that dir can serve as Root: a directory that only its
// owner (root) may write to, so that no user can plant another's Root/USER.
func CheckRoot(dir string) error {
	st, err := os.Stat(dir)
	if err != nil {
		return fmt.Errorf("check root: %w", err)
	}
	if !st.IsDir() {
		return fmt.Errorf("check root: %s is not a directory", dir)
	}
	if sys, ok := st.Sys().(*syscall.Stat_t); !ok || sys.Uid != 0 && int(sys.Uid) != os.Geteuid() {
		return fmt.Errorf("check root: %s must belong to root", dir)
	}
	if st.Mode().Perm()&0o022 != 0 {
		return fmt.Errorf("check root: %s is writable by group or others (mode %#o)", dir, st.Mode().Perm())
	}
	return nil
}

// activity wraps a channel and marks the connection as in use on traffic.
type activity struct {
	ch ssh.Channel
	c  *conn
}

func (a activity) Read(p []byte) (int, error) {
	n, err := a.ch.Read(p)
	if n > 0 {
		a.c.touch()
	}
	return n, err
}

func (a activity) Write(p []byte) (int, error) {
	a.c.touch()
	return a.ch.Write(p)
}
