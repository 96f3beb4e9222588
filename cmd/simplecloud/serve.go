package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"simplecloud/sync/server"
)

// serveFlags are the serve command's flags; set ones override the config file.
type serveFlags struct {
	config string
	cfg    server.Config
}

func newServeCmd(a *app) *cobra.Command {
	var f serveFlags
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Serve the data volume to the machine's users over SSH (SFTP)",
		Long: `serve runs an SSH server for the machine's own users. They log in with the keys
in their ~/.ssh/authorized_keys (and, with --password-auth in a binary built
with -tags pam, with their password through PAM service "simplecloud") and get
SFTP (sftp, sshfs, rclone) rooted at ROOT/USER (or their home directory when
--root is empty). Every session runs in a child process with the user's uid,
gid and groups. Host keys are made on first start in --host-key-dir and reused
later.`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := f.resolve(cmd.Flags())
			if err != nil {
				return err
			}
			return runServe(cmd.Context(), a, cfg)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.config, "config", "", "TOML configuration: the [server] table of simplecloud.toml, or a file of server settings")
	fl.StringVar(&f.cfg.Listen, "listen", ":2222", "address to listen on")
	fl.StringVar(&f.cfg.Root, "root", "", "directory whose ROOT/USER each user sees as /; empty: the home directory")
	fl.StringVar(&f.cfg.HostKeyDir, "host-key-dir", "/etc/simplecloud/hostkeys", "directory of the host keys")
	fl.BoolVar(&f.cfg.PermitRoot, "permit-root-login", false, "let root log in")
	fl.BoolVar(&f.cfg.PasswordAuth, "password-auth", false, "let users log in with their system password through PAM (service "+server.PAMService+"; needs a build with -tags pam)")
	fl.StringSliceVar(&f.cfg.AllowUsers, "allow-users", nil, "only these users may log in")
	fl.StringSliceVar(&f.cfg.DenyUsers, "deny-users", nil, "these users may not log in")
	fl.StringSliceVar(&f.cfg.AllowGroups, "allow-groups", nil, "only members of these groups may log in")
	fl.StringSliceVar(&f.cfg.DenyGroups, "deny-groups", nil, "members of these groups may not log in")
	fl.IntVar(&f.cfg.MaxAuthTries, "max-auth-tries", 6, "failed authentication attempts per connection")
	fl.IntVar(&f.cfg.BackoffAfter, "backoff-after", 10, "failed logins from one source (an address, an IPv6 /64) before it is refused for a while")
	fl.DurationVar(&f.cfg.IdleTimeout, "idle-timeout", 0, "close connections without traffic for this long (0: never)")
	fl.DurationVar(&f.cfg.KeepAlive, "keepalive-interval", 30e9, "interval of keepalive requests to clients")
	fl.DurationVar(&f.cfg.ShutdownTimeout, "shutdown-timeout", 30e9, "on SIGTERM, how long open sessions may go on")
	return cmd
}

// resolve merges the config file (if any) with the flags that were set.
func (f *serveFlags) resolve(fl *pflag.FlagSet) (server.Config, error) {
	if f.config == "" {
		return f.cfg, nil
	}
	cfg, err := server.LoadConfig(f.config)
	if err != nil {
		return cfg, usageError{err}
	}
	set := func(name string, apply func()) {
		if fl.Changed(name) {
			apply()
		}
	}
	set("listen", func() { cfg.Listen = f.cfg.Listen })
	set("root", func() { cfg.Root = f.cfg.Root })
	set("host-key-dir", func() { cfg.HostKeyDir = f.cfg.HostKeyDir })
	set("permit-root-login", func() { cfg.PermitRoot = f.cfg.PermitRoot })
	set("password-auth", func() { cfg.PasswordAuth = f.cfg.PasswordAuth })
	set("allow-users", func() { cfg.AllowUsers = f.cfg.AllowUsers })
	set("deny-users", func() { cfg.DenyUsers = f.cfg.DenyUsers })
	set("allow-groups", func() { cfg.AllowGroups = f.cfg.AllowGroups })
	set("deny-groups", func() { cfg.DenyGroups = f.cfg.DenyGroups })
	set("max-auth-tries", func() { cfg.MaxAuthTries = f.cfg.MaxAuthTries })
	set("backoff-after", func() { cfg.BackoffAfter = f.cfg.BackoffAfter })
	set("idle-timeout", func() { cfg.IdleTimeout = f.cfg.IdleTimeout })
	set("keepalive-interval", func() { cfg.KeepAlive = f.cfg.KeepAlive })
	set("shutdown-timeout", func() { cfg.ShutdownTimeout = f.cfg.ShutdownTimeout })
	return cfg, nil
}

func runServe(ctx context.Context, a *app, cfg server.Config) error {
	if ctx == nil {
		ctx = context.Background()
	}
	srv, ln, err := listenServer(a, cfg, true)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(ctx, syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	return serveReady(ctx, a, srv, ln)
}

// listenServer makes the server of cfg and its listener, and says so.
// checkRoot checks cfg.Root now; unlock --serve checks it once the volume
// is mounted.
func listenServer(a *app, cfg server.Config, checkRoot bool) (*server.Server, net.Listener, error) {
	cfg = cfg.Defaults()
	if err := cfg.Validate(); err != nil {
		return nil, nil, usageError{err}
	}
	if cfg.Root != "" {
		// Session children start in /, so the root must be absolute.
		abs, err := filepath.Abs(cfg.Root)
		if err != nil {
			return nil, nil, fmt.Errorf("resolve --root: %w", err)
		}
		cfg.Root = abs
		if err := server.CheckRoot(cfg.Root); err != nil && checkRoot {
			return nil, nil, err
		}
	}
	keys, err := server.LoadHostKeys(cfg.HostKeyDir)
	if err != nil {
		return nil, nil, err
	}
	for _, k := range keys {
		note := ""
		if k.Created {
			note = " (new)"
		}
		fmt.Fprintf(a.stdout, "host key %s %s %s%s\n", k.Signer.PublicKey().Type(), k.Fingerprint, k.Path, note)
	}
	// Connection children run this very binary through /proc/self/exe,
	// even after an upgrade replaced or removed the file: the child must
	// speak the parent's version of the setup it is handed.
	if _, err := os.Stat("/proc/self/exe"); err != nil {
		return nil, nil, fmt.Errorf("find own executable: %w", err)
	}
	child := []string{"/proc/self/exe", "--log-level", a.logLevel, "--log-format", a.logFormat, "serve-conn"}
	srv, err := server.New(cfg, keys, child, a.log)
	if err != nil {
		return nil, nil, usageError{err}
	}
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return nil, nil, fmt.Errorf("listen: %w", err)
	}
	fmt.Fprintf(a.stdout, "listening on %s\n", ln.Addr())
	return srv, ln, nil
}

// serveReady tells systemd the server is ready and serves until ctx ends.
func serveReady(ctx context.Context, a *app, srv *server.Server, ln net.Listener) error {
	if err := server.Notify("READY=1\nSTATUS=listening on " + ln.Addr().String()); err != nil {
		a.log.Warn("sd_notify", "err", err)
	}
	context.AfterFunc(ctx, func() { server.Notify("STOPPING=1") })
	err := srv.Serve(ctx, ln)
	if err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	return nil
}
