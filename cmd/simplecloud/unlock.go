package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"simplecloud/luks"
	"simplecloud/provision"
)

// Exit codes of unlock (and lock), besides exitOK, exitError, exitAuth
// (wrong passphrase) and exitUsage.
const (
	exitMissingDisk = 3 // no block device carries the configured LUKS UUID
	exitAlreadyOpen = 4 // unlock: the volume was already open (it is mounted all the same); lock: not open
	exitTimeout     = 5 // no passphrase before --timeout, or the prompt was cancelled
)

// defaultConfig is where install writes the configuration.
const defaultConfig = "/etc/simplecloud/simplecloud.toml"

// unlockFlags are unlock's flags.
type unlockFlags struct {
	config, keyFile, recovery string
	tries                     int
	timeout                   time.Duration
	asJSON, serve             bool
	remote                    remoteUnlock
}

func newUnlockCmd(a *app) *cobra.Command {
	var f unlockFlags
	cmd := &cobra.Command{
		Use:   "unlock",
		Short: "Open, check and mount the data volume at boot (asks for the passphrase)",
		Long: `unlock reads the configuration, finds the data volume by its LUKS UUID on
any disk, asks for the passphrase on the terminal (or reads --key-file or
--recovery-key), opens it as /dev/mapper/NAME, checks the filesystem with
e2fsck -p, mounts it and starts the server where systemd runs. Run by
systemd without a terminal, it asks through systemd's password agents
(systemd-tty-ask-password-agent, the console and serial console agents,
wall), as systemd-cryptsetup does.

--tries and --timeout work as crypttab's tries= and timeout=: the number of
passphrases asked for (0: no limit) and how long to wait for them in all
(0: for ever). Their defaults come from the [unlock] section of the
configuration. The recovery key can be typed at the prompt too.

With --serve it also starts the SSH server (its settings from the [server]
table of the configuration, its root the volume's mount point). While the
volume is locked the server offers nothing but unlock, to members of the
group [unlock] admin_group names ("sudo" by default) who log in with a key
from their ~/.ssh/authorized_keys:

  ssh -t -p 2222 admin@host unlock      (or: simplecloud unlock --remote admin@host)

The console prompt runs at the same time; whichever gets the right
passphrase first opens the volume and the other stops. Wrong passphrases
from either count against --tries, and each try after a wrong one waits
longer (1s, 2s, 4s, ... 30s). Then the same process serves files, as serve
does, until it is stopped.

With --remote [USER@]HOST it is the client of that: it runs your own ssh
(your keys, agent, config and known_hosts) as "ssh [-p PORT] [-i KEY]
HOST unlock", reads the passphrase here without echo (or from --key-file)
and sends it over the connection, never on a command line. Its exit codes
are the server's: 0 unlocked, 2 wrong passphrase, 4 another prompt
unlocked it first, 1 anything else (ssh failed, not an admin, ...).

Exit codes:
  0   unlocked and mounted
  1   any other failure (e2fsck found errors it could not repair, ...)
  2   wrong passphrase (all tries used) or wrong key file
  3   the data disk is missing: no disk carries the volume's LUKS UUID
  4   the volume was already open; it is checked and mounted all the same
  5   no passphrase before the timeout, or the prompt was cancelled
  64  bad usage`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error { return f.run(cmd, a) },
	}
	fl := cmd.Flags()
	fl.StringVar(&f.config, "config", defaultConfig, "configuration file")
	fl.StringVarP(&f.keyFile, "key-file", "d", "", "read the passphrase from this file (- for stdin)")
	fl.StringVar(&f.recovery, "recovery-key", "", "read the recovery key from this file (whitespace trimmed)")
	fl.IntVar(&f.tries, "tries", provision.DefaultTries, "passphrases to ask for before giving up (0: no limit)")
	fl.DurationVar(&f.timeout, "timeout", 0, "give up when no passphrase opened it by then (0: wait for ever)")
	fl.BoolVar(&f.asJSON, "json", false, "print the result as JSON")
	fl.BoolVar(&f.serve, "serve", false, "also ask over SSH (admins: ssh HOST unlock), then serve files in the same process")
	fl.StringVar(&f.remote.dest, "remote", "", "unlock [USER@]HOST's volume over SSH (ssh HOST unlock) instead of this machine's")
	fl.IntVarP(&f.remote.port, "port", "p", 0, "with --remote: the server's port (default: ssh's)")
	fl.StringVarP(&f.remote.identity, "identity", "i", "", "with --remote: private key file, passed to ssh")
	fl.StringArrayVarP(&f.remote.options, "ssh-option", "o", nil, "with --remote: an ssh option (-o), may be repeated")
	return cmd
}

// run is unlock: --remote's client, --serve's server, or the console's
// prompt alone.
func (f *unlockFlags) run(cmd *cobra.Command, a *app) error {
	if f.remote.dest != "" {
		if f.serve || f.recovery != "" {
			return usageError{errors.New("--remote goes with --key-file, -p, -i and -o only")}
		}
		f.remote.keyFile = f.keyFile
		return runRemoteUnlock(cmd.Context(), a, f.remote)
	}
	cfg, err := provision.LoadConfig(f.config)
	if err != nil {
		return err
	}
	if !cmd.Flags().Changed("tries") {
		f.tries = cfg.Unlock.Tries
	}
	if !cmd.Flags().Changed("timeout") {
		f.timeout = cfg.Unlock.Timeout
	}
	if f.tries < 0 || f.timeout < 0 {
		return usageError{errors.New("--tries and --timeout must not be negative")}
	}
	sys := provision.HostSystem(a.log, nil)
	if f.serve {
		if f.keyFile != "" || f.recovery != "" {
			return usageError{errors.New("--serve asks for the passphrase: give no --key-file or --recovery-key")}
		}
		sys.NoHandoff = true
		return runUnlockServe(cmd.Context(), a, unlockServe{cfg: cfg, config: f.config,
			opener: &provisionOpener{sys: &sys, cfg: cfg}, console: consoleAsker(a, &sys, cfg, time.Time{}),
			tries: f.tries, timeout: f.timeout})
	}
	key, err := unlockKey(a, f.keyFile, f.recovery)
	if err != nil {
		return err
	}
	defer clear(key)
	var deadline time.Time
	if f.timeout > 0 {
		// As crypttab's timeout=: it bounds the asking, not the
		// filesystem check that follows.
		deadline = time.Now().Add(f.timeout)
	}
	res, err := sys.Unlock(cmd.Context(), cfg, key, consoleAsker(a, &sys, cfg, deadline), f.tries)
	if perr := printUnlock(a, f.asJSON, res, err); perr != nil && err == nil {
		err = perr
	}
	return unlockExit(err)
}

// unlockKey reads the key file or the recovery key file, or returns nil to
// prompt.
func unlockKey(a *app, keyFile, recovery string) ([]byte, error) {
	switch {
	case keyFile != "" && recovery != "":
		return nil, usageError{errors.New("give --key-file or --recovery-key, not both")}
	case keyFile != "":
		return luksReadKeyFile(a, keyFile)
	case recovery != "":
		b, err := luksReadKeyFile(a, recovery)
		if err != nil {
			return nil, err
		}
		k := append([]byte(nil), bytes.TrimSpace(b)...)
		clear(b)
		return k, nil
	}
	return nil, nil
}

// unlockExit maps unlock's errors to its exit codes.
func unlockExit(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, luks.ErrWrongKey):
		return withExitCode(exitAuth, err)
	case errors.Is(err, provision.ErrMissingDisk):
		return withExitCode(exitMissingDisk, err)
	case errors.Is(err, provision.ErrAlreadyOpen), errors.Is(err, provision.ErrNotOpen):
		return withExitCode(exitAlreadyOpen, err)
	case errors.Is(err, provision.ErrCancelled), errors.Is(err, context.DeadlineExceeded):
		return withExitCode(exitTimeout, err)
	}
	return err
}

func printUnlock(a *app, asJSON bool, res *provision.UnlockResult, err error) error {
	if res == nil || (err != nil && !errors.Is(err, provision.ErrAlreadyOpen)) {
		return nil
	}
	if asJSON {
		return json.NewEncoder(a.stdout).Encode(res)
	}
	_, werr := fmt.Fprint(a.stdout, res)
	return werr
}
