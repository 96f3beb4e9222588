package main

import (
	"fmt"
	"os"
	"strconv"
	"syscall"

	"github.com/spf13/cobra"

	"simplecloud/sync/server"
)

// newServeSessionCmd is the hidden command the server re-executes itself as
// for each SFTP session, already running as the user. It finds the
// channel's socket on descriptor server.SessionFD.
func newServeSessionCmd(a *app) *cobra.Command {
	var root, umask, user string
	var allowRoot bool
	cmd := &cobra.Command{
		Use:    "serve-session",
		Short:  "Serve one SFTP session (started by serve)",
		Hidden: true,
		Args:   usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			m, err := strconv.ParseUint(umask, 8, 32)
			if err != nil || m > 0o777 {
				return usageError{fmt.Errorf("parse --umask %q: want an octal mode up to 777", umask)}
			}
			syscall.Umask(int(m))
			// Non-blocking, so that the runtime's poller serves the socket
			// instead of a thread blocked in read(2).
			if err := syscall.SetNonblock(server.SessionFD, true); err != nil {
				return fmt.Errorf("session socket: %w", err)
			}
			f := os.NewFile(server.SessionFD, "session")
			defer f.Close()
			return server.ServeSFTP(f, root, allowRoot, a.log.With("component", "sftp", "user", user))
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&root, "root", "", "the directory the user sees as /")
	fl.StringVar(&umask, "umask", "022", "umask, octal")
	fl.StringVar(&user, "user", "", "user name, for logs")
	fl.BoolVar(&allowRoot, "allow-root", false, "serve even as root")
	cmd.MarkFlagRequired("root")
	return cmd
}
