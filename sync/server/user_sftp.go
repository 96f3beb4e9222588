package server

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"

	"github.com/pkg/sftp"

	"simplecloud/sync/rootfs"
)

// ServeSFTP serves the SFTP protocol of one session on rw with root as the
// client's "/", until the client closes the channel. The session holds at
// most maxHandles open file and directory handles (0: no limit). The
// process must already run as the user; it refuses to serve as root unless
// allowRoot is set.
func ServeSFTP(rw io.ReadWriteCloser, root string, allowRoot bool, maxHandles int, log *slog.Logger) error {
	if os.Geteuid() == 0 && !allowRoot {
		return errors.New("serve sftp: refusing to run as root")
	}
	r, err := rootfs.Open(root)
	if err != nil {
		return err
	}
	defer r.Close()
	fsys := &sftpFS{r: r, handles: newHandleLimit(maxHandles, log)}
	srv := sftp.NewRequestServer(newSessionConn(rw), fsys.handlers(), sftp.WithRSAllocator())
	defer srv.Close()
	log.Debug("sftp session start", "root", root, "uid", os.Getuid())
	if err := srv.Serve(); err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("serve sftp: %w", err)
	}
	log.Debug("sftp session end")
	return nil
}
