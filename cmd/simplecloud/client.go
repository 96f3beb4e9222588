package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/spf13/cobra"

	"simplecloud/internal/cmdrun"
	"simplecloud/sync/client"
	"simplecloud/sync/client/agent"
)

// newClientCmd is the parent of the commands that keep a person's folders.
func newClientCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "client",
		Short: "Keep every folder of ~/.config/simplecloud/client.toml going (sync or stream)",
		Args:  usageArgs(cobra.NoArgs),
	}
	cmd.AddCommand(newClientRunCmd(a), newClientAddCmd(a), newClientEditCmd(a, "remove"),
		newClientEditCmd(a, "pause"), newClientEditCmd(a, "resume"), newClientEnableCmd(a))
	return cmd
}

func newClientRunCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "run",
		Short: "Run every configured folder until SIGINT or SIGTERM",
		Long: `run keeps every folder of the configuration going: sync folders in step both
ways, stream folders mounted with sshfs (and mounted again when sshfs ends).
The folders of one host share one SSH connection. Changes to the
configuration (client add, remove, pause, resume, or an edit) take effect
while it runs. SIGINT or SIGTERM lets each folder finish the file in flight,
unmounts the stream folders and exits 0.`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			ag, err := newAgent(a)
			if err != nil {
				return err
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			return ag.Run(ctx)
		},
	}
}

func newAgent(a *app) (*agent.Agent, error) {
	cfg, err := agent.ConfigPath()
	if err != nil {
		return nil, err
	}
	state, err := client.StateDir()
	if err != nil {
		return nil, err
	}
	rt, err := agent.RuntimeDir()
	if err != nil {
		return nil, err
	}
	keys, err := keyStore()
	if err != nil {
		return nil, err
	}
	host, _ := os.Hostname()
	return &agent.Agent{ConfigPath: cfg, StateDir: state, RuntimeDir: rt, Version: version, Host: host,
		Logger: a.log, Stderr: a.stderr, KeyDir: keys.Dir}, nil
}

// editConfig loads the configuration, applies fn and saves it.
func editConfig(fn func(*agent.Config) error) error {
	p, err := agent.ConfigPath()
	if err != nil {
		return err
	}
	c, err := agent.Load(p)
	if err != nil {
		return err
	}
	if err := fn(c); err != nil {
		return usageError{err}
	}
	return c.Save(p)
}

func newClientAddCmd(a *app) *cobra.Command {
	var f agent.Folder
	cmd := &cobra.Command{
		Use:   "add LOCAL [USER@]HOST:PATH",
		Short: "Add a folder: LOCAL kept with PATH on the server (--mode sync or stream)",
		Args:  usageArgs(cobra.ExactArgs(2)),
		RunE: func(cmd *cobra.Command, args []string) error {
			local, err := filepath.Abs(args[0])
			if err != nil {
				return usageError{err}
			}
			f.Local, f.Remote = local, args[1]
			if err := editConfig(func(c *agent.Config) error { return c.Add(f) }); err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "added %s (%s with %s)\n", local, orDefault(f.Mode, agent.ModeSync), f.Remote)
			return nil
		},
	}
	cmd.Flags().StringVar(&f.Name, "name", "", "the folder's name in status and commands (default: LOCAL's base name)")
	cmd.Flags().StringVar(&f.Mode, "mode", agent.ModeSync, "sync (a local copy kept in step both ways) or stream (mounted with sshfs)")
	cmd.Flags().BoolVar(&f.Encrypt, "encrypt", false, "keep only ciphertext on the server (zero-knowledge; needs a folder key: simplecloud key new or import)")
	cmd.Flags().StringVar(&f.Key, "key", "", "with --encrypt, the folder key's id (default: the one key held here)")
	cmd.Flags().IntVarP(&f.Port, "port", "p", 0, "server port (default: ssh's)")
	cmd.Flags().StringVarP(&f.Identity, "identity", "i", "", "private key file, passed to ssh")
	cmd.Flags().StringVarP(&f.RSH, "rsh", "e", "", "the ssh command to run, with its options (default: ssh, one shared connection per host)")
	cmd.Flags().Float64Var(&f.MaxDelete, "max-delete", 0, "refuse a run that deletes more than this percent of either side's files (default 50)")
	return cmd
}

func orDefault(s, d string) string {
	if s == "" {
		return d
	}
	return s
}

// newClientEditCmd makes remove, pause and resume.
func newClientEditCmd(a *app, verb string) *cobra.Command {
	short := map[string]string{
		"remove": "Take a folder out of the configuration (its files stay)",
		"pause":  "Pause a folder: nothing is synced or mounted until resume",
		"resume": "Resume a paused folder",
	}[verb]
	return &cobra.Command{
		Use:   verb + " NAME|LOCAL",
		Short: short,
		Args:  usageArgs(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			key := args[0]
			if abs, err := filepath.Abs(key); err == nil && strings.ContainsRune(key, '/') {
				key = abs
			}
			err := editConfig(func(c *agent.Config) error {
				switch verb {
				case "remove":
					return c.Remove(key)
				case "pause":
					return c.SetPaused(key, true)
				}
				return c.SetPaused(key, false)
			})
			if err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "%s: %s\n", map[string]string{"remove": "removed", "pause": "paused", "resume": "resumed"}[verb], args[0])
			return nil
		},
	}
}

func newClientEnableCmd(a *app) *cobra.Command {
	var noStart bool
	cmd := &cobra.Command{
		Use:   "enable",
		Short: "Install and start a systemd user unit that runs the client at login",
		Args:  usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			exe, err := os.Executable()
			if err != nil {
				return err
			}
			if exe, err = filepath.EvalSymlinks(exe); err != nil {
				return err
			}
			cfg, err := agent.ConfigPath()
			if err != nil {
				return err
			}
			unit := filepath.Join(filepath.Dir(filepath.Dir(cfg)), "systemd", "user", agent.UnitName)
			if err := os.MkdirAll(filepath.Dir(unit), 0o755); err != nil {
				return err
			}
			if err := os.WriteFile(unit, []byte(agent.UserUnit(exe)), 0o644); err != nil {
				return fmt.Errorf("write %s: %w", unit, err)
			}
			fmt.Fprintf(a.stdout, "wrote %s\n", unit)
			if noStart {
				return nil
			}
			return systemctlUser(cmd.Context(), [][]string{{"daemon-reload"}, {"enable", "--now", agent.UnitName}})
		},
	}
	cmd.Flags().BoolVar(&noStart, "no-start", false, "only write the unit file")
	return cmd
}

func systemctlUser(ctx context.Context, calls [][]string) error {
	for _, args := range calls {
		if err := (cmdrun.Cmd{Name: "systemctl", Args: append([]string{"--user"}, args...)}).Run(ctx); err != nil {
			return fmt.Errorf("systemctl --user %v: %w (is there a user session with systemd? --no-start only writes the unit)", args, err)
		}
	}
	return nil
}

func newStatusCmd(a *app) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Show what each configured folder is doing",
		Args:  usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			ag, err := newAgent(a)
			if err != nil {
				return err
			}
			c, err := agent.Load(ag.ConfigPath)
			if err != nil {
				return err
			}
			s, err := agent.ReadStatus(ag.RuntimeDir, ag.StateDir, c)
			if err != nil {
				return err
			}
			if asJSON {
				enc := json.NewEncoder(a.stdout)
				enc.SetIndent("", "  ")
				return enc.Encode(s)
			}
			printStatus(a, s)
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the status as JSON")
	return cmd
}

func printStatus(a *app, s *agent.Status) {
	if !s.Running {
		fmt.Fprintln(a.stdout, "The client is not running (simplecloud client run, or client enable).")
	}
	if len(s.Folders) == 0 {
		fmt.Fprintln(a.stdout, "No folders are configured (simplecloud client add LOCAL USER@HOST:PATH).")
		return
	}
	fmt.Fprintf(a.stdout, "%-16s %-7s %-9s %-20s %s\n", "FOLDER", "MODE", "STATE", "LAST SYNC", "LOCAL <-> REMOTE")
	for _, f := range s.Folders {
		last := "-"
		if !f.LastSync.IsZero() {
			last = f.LastSync.Local().Format("2006-01-02 15:04:05")
		}
		fmt.Fprintf(a.stdout, "%-16s %-7s %-9s %-20s %s <-> %s\n", f.Name, f.Mode, f.State, last, f.Local, f.Remote)
		if f.Encrypted {
			fmt.Fprintf(a.stdout, "    encrypted%s: the server holds only ciphertext\n", orEmpty(" with key ", f.Key))
		}
		switch {
		case f.Error != "":
			fmt.Fprintf(a.stdout, "    %s\n", f.Error)
		case f.State == agent.StateSyncing && f.PendingFiles > 0:
			fmt.Fprintf(a.stdout, "    %s (up %d files, %d bytes; down %d files, %d bytes)\n", bar(f.DoneFiles, f.PendingFiles, 30),
				f.PendingUpFiles, f.PendingUpBytes, f.PendingDownFiles, f.PendingDownBytes)
		}
		if len(f.Nodes) > 0 {
			var ns []string
			for _, n := range f.Nodes {
				this := ""
				if n.This {
					this = "this machine, "
				}
				ns = append(ns, fmt.Sprintf("%s (%s%s)", n.Name, this, n.Seen.Local().Format("2006-01-02 15:04")))
			}
			fmt.Fprintf(a.stdout, "    synced by: %s\n", strings.Join(ns, ", "))
		}
		if f.Conflicts > 0 {
			fmt.Fprintf(a.stdout, "    %d conflicts since the client started (NAME.sync-conflict-...)\n", f.Conflicts)
		}
	}
}

// bar draws done of total as a bar of width cells and the counts.
func bar(done, total int64, width int) string {
	n := int(int64(width) * min(done, total) / max(total, 1))
	b := make([]byte, width)
	for i := range b {
		b[i] = '.'
		if i < n {
			b[i] = '#'
		}
	}
	return fmt.Sprintf("[%s] %d/%d files", b, done, total)
}

// orEmpty returns prefix and s, or "" when s is empty.
func orEmpty(prefix, s string) string {
	if s == "" {
		return ""
	}
	return prefix + s
}
