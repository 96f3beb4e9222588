package main

import (
	"fmt"
	"os/exec"

	"github.com/spf13/cobra"

	"simplecloud/internal/cmdrun"
	"simplecloud/sync/client"
)

func newMountCmd(a *app) *cobra.Command {
	var o client.MountOptions
	cmd := &cobra.Command{
		Use:   "mount USER@HOST[:PATH] MOUNTPOINT",
		Short: "Mount a directory of a SimpleCloud server with sshfs (stream mode)",
		Args:  usageArgs(cobra.ExactArgs(2)),
		RunE: func(cmd *cobra.Command, args []string) error {
			argv, err := client.SSHFSArgs(args[0], args[1], o)
			if err != nil {
				return usageError{err}
			}
			if _, err := exec.LookPath("sshfs"); err != nil {
				return fmt.Errorf("mount: sshfs is not installed: %w", err)
			}
			a.log.Debug("running sshfs", "argv", argv)
			if err := (cmdrun.Cmd{Name: "sshfs", Args: argv}).Run(cmd.Context()); err != nil {
				return fmt.Errorf("mount %s: %w", args[1], err)
			}
			fmt.Fprintf(a.stdout, "mounted %s on %s\n", args[0], args[1])
			return nil
		},
	}
	cmd.Flags().IntVarP(&o.Port, "port", "p", 0, "server port (default: ssh's, usually 22)")
	cmd.Flags().StringVarP(&o.Identity, "identity", "i", "", "private key file")
	cmd.Flags().StringSliceVarP(&o.Options, "option", "o", nil, "more sshfs or ssh options (repeatable)")
	return cmd
}

func newUmountCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "umount MOUNTPOINT",
		Short: "Unmount a directory mounted with simplecloud mount",
		Args:  usageArgs(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			prog := "fusermount3"
			if _, err := exec.LookPath(prog); err != nil {
				prog = "fusermount"
			}
			if err := (cmdrun.Cmd{Name: prog, Args: []string{"-u", args[0]}}).Run(cmd.Context()); err != nil {
				return fmt.Errorf("umount %s: %w", args[0], err)
			}
			fmt.Fprintf(a.stdout, "unmounted %s\n", args[0])
			return nil
		},
	}
}
