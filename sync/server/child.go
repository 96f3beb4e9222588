package server

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime"
	"runtime/debug"

	"github.com/pkg/sftp"
)

// SessionFD is the descriptor on which a session child finds its end of the
// socket that carries the SSH channel's bytes (the first of ExtraFiles).
const SessionFD = 3

// ServeSFTP is the body of a session child: it serves the SFTP protocol on
// rw with root as the client's "/", until the client closes the channel. It
// must already run as the user; it refuses to serve as root unless
// allowRoot is set.
func ServeSFTP(rw io.ReadWriteCloser, root string, allowRoot bool, log *slog.Logger) error {
	if os.Geteuid() == 0 && !allowRoot {
		return errors.New("serve sftp: refusing to run as root")
	}
	r, err := openRoot(root)
	if err != nil {
		return err
	}
	defer r.Close()
	// A session's live heap is small and its garbage is mostly packet
	// buffers: collecting less often costs little memory and saves CPU.
	// One P is plenty for one client and saves the scheduler's thread
	// hand-offs (measured: fewer context switches per transfer).
	debug.SetGCPercent(400)
	runtime.GOMAXPROCS(1)
	fsys := &sftpFS{r: r}
	srv := sftp.NewRequestServer(newSessionConn(rw), fsys.handlers(), sftp.WithRSAllocator())
	defer srv.Close()
	log.Debug("sftp session start", "root", root, "uid", os.Getuid())
	if err := srv.Serve(); err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("serve sftp: %w", err)
	}
	log.Debug("sftp session end")
	return nil
}
