package server

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"

	"golang.org/x/crypto/ssh"
)

// channel accepts session channels and refuses every other type.
func (s *connServer) channel(c *conn, nch ssh.NewChannel) {
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
// subsystem, the sync subsystem (simplecloud-sync, user_sync.go) and the
// few commands rclone runs for checksums and
// free space, answered in-process (user_exec.go): shells, other commands,
// ptys, forwarding and environment are refused. A key whose
// authorized_keys line forces command="internal-sftp" gets the sftp server
// for any command, shell or subsystem, as sshd does.
func (s *connServer) session(c *conn, ch ssh.Channel, reqs <-chan *ssh.Request) {
	defer func() { go ssh.DiscardRequests(reqs) }()
	defer ch.Close()
	ctx, cancel := context.WithCancel(context.Background()) // ends when the channel closes
	defer cancel()
	started := false
	forced := forcedCommand(c.sc)
	done := make(chan uint32, 1)
	for {
		select {
		case code := <-done:
			ch.SendRequest("exit-status", false, ssh.Marshal(struct{ Status uint32 }{code}))
			return
		case req, ok := <-reqs:
			if !ok {
				cancel()
				if started {
					<-done
				}
				return
			}
			ok = false
			switch {
			case len(req.Payload) > s.cfg.MaxPacketRequest:
				c.log.Info("request refused", "type", req.Type, "reason", "too long", "bytes", len(req.Payload))
			case !started && forced == forceSFTP && (req.Type == "exec" || req.Type == "shell" || req.Type == "subsystem"):
				// A forced command wins over whatever the client asks for,
				// as with sshd: the command, the shell or the subsystem
				// asked for is ignored and the sftp server runs. This case
				// must stay ahead of every subsystem, the sync subsystem
				// (simplecloud-sync) included: a key confined to sftp must
				// never get anything else.
				log := c.log.With("request", req.Type)
				if req.Type == "subsystem" {
					log = log.With("subsystem", subsystem(req.Payload))
				}
				log.Info("forced command", "command", forced)
				s.startSFTP(c, ch, done)
				started, ok = true, true
			case req.Type == "subsystem" && !started && subsystem(req.Payload) == "sftp":
				s.startSFTP(c, ch, done)
				started, ok = true, true
			case req.Type == "subsystem" && !started && subsystem(req.Payload) == SyncSubsystem:
				s.startSync(ctx, c, activity{ch, c}, done)
				started, ok = true, true
			case !started && execCommand(req) != nil:
				// A checksum or df for rclone, answered in-process
				// (user_exec.go); no other command is run.
				if req.WantReply {
					req.Reply(true, nil)
				}
				s.startExec(ctx, c, ch, execCommand(req), done)
				started = true
				continue
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

// forcedCommand returns the forced command of the key the connection
// authenticated with ("" for none; only forceSFTP is ever set).
func forcedCommand(sc *ssh.ServerConn) string {
	if sc == nil || sc.Permissions == nil {
		return ""
	}
	return sc.Permissions.Extensions[extCommand]
}

// subsystem decodes a subsystem request's name.
func subsystem(payload []byte) string {
	var m struct{ Name string }
	if err := ssh.Unmarshal(payload, &m); err != nil {
		return ""
	}
	return m.Name
}

// startSFTP serves the SFTP protocol on ch in this process, which already
// runs as the user. done receives the exit status when the session ends.
func (s *connServer) startSFTP(c *conn, ch ssh.Channel, done chan<- uint32) {
	c.log.Info("sftp session started", "root", c.root, "pid", os.Getpid())
	go func() {
		code := uint32(0)
		if err := ServeSFTP(activity{ch, c}, c.root, s.cfg.PermitRoot, s.cfg.sftpOptions(), c.log); err != nil {
			c.log.Info("sftp session ended", "err", err)
			code = 1
		} else {
			c.log.Info("sftp session ended")
		}
		done <- code
	}()
}

// userRoot returns the directory the user sees as "/": root/USER, made
// (mode 0700, owned by the user) when missing, or the home directory when
// root is "". An existing root/USER must be a directory owned by the user.
// The connection child calls it as root, before it becomes the user; it
// only makes and checks the directory and never opens anything inside it.
func userRoot(root string, a Account) (string, error) {
	if root == "" {
		return a.Home, nil
	}
	dir := filepath.Join(root, a.Name)
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

// Close ends the session's output only: the session sends its exit status
// after the SFTP server is done, then closes the channel.
func (a activity) Close() error { return a.ch.CloseWrite() }
