package main

import (
	"errors"
	"fmt"
	"os/exec"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"simplecloud/internal/cmdrun"
)

// mountOpts are the options of simplecloud mount.
type mountOpts struct {
	port     int
	identity string
	options  []string // extra sshfs -o options
	sshfs    string
}

// sshfsDefaults keep a mount usable across network trouble and give
// reasonable caching: reconnect with keepalives (ssh gives up after about
// 45 s of silence and sshfs dials again), a directory cache, and file
// contents cached until the server's mtime changes.
var sshfsDefaults = []string{
	"reconnect", "ServerAliveInterval=15", "ServerAliveCountMax=3",
	"dir_cache=yes", "dcache_timeout=20", "auto_cache", "idmap=user",
}

func newMountCmd(a *app) *cobra.Command {
	o := mountOpts{sshfs: "sshfs"}
	cmd := &cobra.Command{
		Use:   "mount USER@HOST[:PATH] MOUNTPOINT",
		Short: "Mount a directory of a SimpleCloud server with sshfs (stream mode)",
		Args:  usageArgs(cobra.ExactArgs(2)),
		RunE: func(cmd *cobra.Command, args []string) error {
			argv, err := sshfsArgs(args[0], args[1], o)
			if err != nil {
				return usageError{err}
			}
			if _, err := exec.LookPath(o.sshfs); err != nil {
				return fmt.Errorf("mount: sshfs is not installed: %w", err)
			}
			a.log.Debug("running sshfs", "argv", argv)
			if err := (cmdrun.Cmd{Name: o.sshfs, Args: argv}).Run(cmd.Context()); err != nil {
				return fmt.Errorf("mount %s: %w", args[1], err)
			}
			fmt.Fprintf(a.stdout, "mounted %s on %s\n", args[0], args[1])
			return nil
		},
	}
	cmd.Flags().IntVarP(&o.port, "port", "p", 0, "server port (default: ssh's, usually 22)")
	cmd.Flags().StringVarP(&o.identity, "identity", "i", "", "private key file")
	cmd.Flags().StringSliceVarP(&o.options, "option", "o", nil, "more sshfs or ssh options (repeatable)")
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

// sshfsArgs builds sshfs's arguments for remote (USER@HOST[:PATH], HOST
// may be a bracketed IPv6 address) and mountpoint.
func sshfsArgs(remote, mountpoint string, o mountOpts) ([]string, error) {
	user, hostPath, ok := strings.Cut(remote, "@")
	if !ok || user == "" || strings.ContainsAny(user, ":/") {
		return nil, fmt.Errorf("parse %q: want USER@HOST[:PATH]", remote)
	}
	host, path := hostPath, ""
	if strings.HasPrefix(hostPath, "[") {
		end := strings.Index(hostPath, "]")
		if end < 0 {
			return nil, fmt.Errorf("parse %q: unclosed [ in host", remote)
		}
		host = hostPath[:end+1]
		rest := hostPath[end+1:]
		if rest != "" && !strings.HasPrefix(rest, ":") {
			return nil, fmt.Errorf("parse %q: want USER@[ADDR][:PATH]", remote)
		}
		path = strings.TrimPrefix(rest, ":")
	} else if h, p, ok := strings.Cut(hostPath, ":"); ok {
		host, path = h, p
	}
	if host == "" || host == "[]" || strings.HasPrefix(host, "-") {
		return nil, fmt.Errorf("parse %q: empty or bad host", remote)
	}
	if mountpoint == "" || strings.HasPrefix(mountpoint, "-") {
		return nil, errors.New("mount point must not be empty or start with -")
	}
	if o.port < 0 || o.port > 65535 {
		return nil, fmt.Errorf("port %d out of range", o.port)
	}
	opts := append([]string(nil), sshfsDefaults...)
	if o.identity != "" {
		opts = append(opts, "IdentityFile="+o.identity, "IdentitiesOnly=yes")
	}
	opts = append(opts, o.options...)
	argv := []string{user + "@" + host + ":" + path, mountpoint, "-o", strings.Join(opts, ",")}
	if o.port != 0 {
		argv = append(argv, "-p", strconv.Itoa(o.port))
	}
	return argv, nil
}
