package main

import (
	"fmt"
	"io"
	"log/slog"
	"strings"

	"github.com/spf13/cobra"

	"simplecloud/internal/prompt"
)

// app holds what every command needs. Commands get a pointer to it when they
// are built; its fields are filled in once flags are parsed.
type app struct {
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
	log    *slog.Logger

	logLevel  string
	logFormat string
}

// run builds the command tree, executes it with args and returns the exit code.
func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	a := &app{stdin: stdin, stdout: stdout, stderr: stderr, log: slog.New(slog.DiscardHandler)}
	root := newRootCmd(a)
	root.SetArgs(args)
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	err := root.Execute()
	code := exitCodeOf(err)
	if err != nil {
		fmt.Fprintf(stderr, "simplecloud: %v\n", err)
		if code == exitUsage {
			fmt.Fprintln(stderr, "Run 'simplecloud --help' for usage.")
		}
	}
	return code
}

func newRootCmd(a *app) *cobra.Command {
	root := &cobra.Command{
		Use:   "simplecloud",
		Short: "Encrypted, shared storage for a small Linux server",
		Long: `simplecloud takes a server from bare disks to encrypted, shared storage:
it installs a LUKS2 data disk, unlocks it at boot, closes it even when busy,
and serves it over SSH to the machine's own users.`,
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			l, err := newLogger(a.stderr, a.logLevel, a.logFormat)
			if err != nil {
				return usageError{err}
			}
			a.log = l
			return nil
		},
	}
	root.PersistentFlags().StringVar(&a.logLevel, "log-level", "info", "log level: debug, info, warn or error")
	root.PersistentFlags().StringVar(&a.logFormat, "log-format", "text", "log format on stderr: text or json")
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })

	root.AddCommand(
		newVersionCmd(a), newLuksCmd(a),
		newDisksCmd(a), newWipeCmd(a),
		newHoldersCmd(a), newCloseCmd(a),
		newInstallCmd(a), newUnlockCmd(a), newLockCmd(a),
		newServeCmd(a), newServeConnCmd(a), newMountCmd(a), newUmountCmd(a),
		newSyncCmd(a), newVersionsCmd(a), newRestoreCmd(a), newClientCmd(a), newStatusCmd(a),
		newDistCmd(a), newImageCmd(a), newKeyCmd(a), newFirstbootCmd(a), newReplicaCmd(a),
	)
	return root
}

// newLogger returns a slog logger writing to w at the given level and format.
func newLogger(w io.Writer, level, format string) (*slog.Logger, error) {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(strings.ToUpper(level))); err != nil {
		return nil, fmt.Errorf("parse --log-level %q: want debug, info, warn or error", level)
	}
	opts := &slog.HandlerOptions{Level: lv}
	switch format {
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	default:
		return nil, fmt.Errorf("parse --log-format %q: want text or json", format)
	}
}

// usageArgs wraps a cobra positional-argument validator so that its errors
// exit with the usage code.
func usageArgs(v cobra.PositionalArgs) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if err := v(cmd, args); err != nil {
			return usageError{err}
		}
		return nil
	}
}

// ask returns the prompter that asks on stderr and reads stdin.
func (a *app) ask() prompt.Prompter { return prompt.Prompter{In: a.stdin, Out: a.stderr} }
