package server

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"

	"simplecloud/sync/rootfs"
	"simplecloud/sync/sftpd"
)

// ServeSFTP serves the SFTP protocol of one session on rw with root as the
// client's "/", until the client closes the channel, and then closes rw
// (for a channel: its output only, see activity). The process must already
// run as the user; it refuses to serve as root unless allowRoot is set.
func ServeSFTP(rw io.ReadWriteCloser, root string, allowRoot bool, opts sftpd.Options, log *slog.Logger) error {
	defer rw.Close()
	if os.Geteuid() == 0 && !allowRoot {
		return errors.New("serve sftp: refusing to run as root")
	}
	r, err := rootfs.Open(root)
	if err != nil {
		return err
	}
	defer r.Close()
	log.Debug("sftp session start", "root", root, "uid", os.Getuid())
	if err := sftpd.Serve(rw, r, opts, log); err != nil {
		return fmt.Errorf("serve sftp: %w", err)
	}
	log.Debug("sftp session end")
	return nil
}

// sftpOptions are the settings of every SFTP session of the server.
func (c Config) sftpOptions() sftpd.Options {
	return sftpd.Options{MaxHandles: c.MaxSFTPHandles, Umask: c.sftpUmask()}
}

// sftpUmask is sftp_umask, 022 when unset.
func (c Config) sftpUmask() uint32 {
	if c.SFTPUmask == nil {
		return 0o022
	}
	return *c.SFTPUmask
}
