package main

import (
	"github.com/spf13/cobra"

	"simplecloud/sync/server"
)

// newServeConnCmd is the hidden command the server re-executes itself as,
// still root, for each accepted connection: it finds the client's
// connection on descriptor server.ConnFD, the control socket to the parent
// on server.CtlFD, the socket to have host key signatures made over on
// server.SignFD, the socket to ask the oracle of changed directories on
// server.DirtyFD and its setup on stdin, authenticates the client and
// serves its sessions as the user.
func newServeConnCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:    "serve-conn",
		Short:  "Serve one SSH connection (started by serve)",
		Hidden: true,
		Args:   usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			nc, ctl, sign, dirty, err := server.ChildFiles()
			if err != nil {
				return err
			}
			defer nc.Close()
			defer ctl.Close()
			defer sign.Close()
			defer dirty.Close()
			return server.ServeConn(nc, ctl, sign, dirty, a.stdin, server.SystemAccounts{}, a.log)
		},
	}
}
