package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"simplecloud/disk"
	"simplecloud/disk/wipe"
	"simplecloud/internal/prompt"
	"simplecloud/luks"
	"simplecloud/provision"
)

// installFlags are the flags of simplecloud install; an answers file fills
// those not given on the command line.
type installFlags struct {
	disks       diskFlags
	pbkdf       luksPbkdfOpts
	disk        string
	keyFile     string
	recoveryKey string // file the generated recovery key is written to
	wipe        string
	label       string
	name        string
	mount       string
	listen      string
	answers     string
	etc         string // hidden: where /etc is (tests)
	wholeDisk   bool
	discard     bool
	yes         bool
	reformat    bool
	dryRun      bool
	asJSON      bool
	tui         bool
}

func newInstallCmd(a *app) *cobra.Command {
	var f installFlags
	cmd := &cobra.Command{
		Use:   "install [--disk BY-ID --key-file F --yes]",
		Short: "Make a disk the encrypted data disk (interactive, or unattended with flags)",
		Long: `install makes one disk the data disk: it checks that nothing uses it,
wipes it (--wipe), writes one GPT partition of type Linux LUKS spanning it
(or puts LUKS on the bare disk with --whole-disk), formats it as LUKS2, opens
it, makes an ext4 filesystem with 0 reserved blocks (checked with dumpe2fs),
mounts it, writes /etc/simplecloud/simplecloud.toml and the systemd units
simplecloud-unlock.service (unlock at boot, at the console and over SSH,
then serve) and simplecloud-serve.service (the server alone), and enables
and starts the first where systemd runs.

On a terminal without --disk it runs the interactive installer. Unattended:
  simplecloud install --disk BY-ID --key-file F --yes [--wipe MODE] ...
or --answers FILE, a TOML file with the same keys as the long flags
(disk = "...", key-file = "...", wipe = "zero", ...). The passphrase comes from
the terminal (asked twice) or --key-file, never from the command line.

--dry-run prints the plan and writes nothing. A re-run finds the installed
volume (its LUKS UUID in the configuration, or its label) and refuses to
format it again unless --reformat is given and confirmed. An interrupted
install leaves a state file; the next run on the same disk undoes what it
left open and finishes.

Exit codes: 0 done, 1 failure, 64 bad usage.`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := f.applyAnswers(cmd); err != nil {
				return err
			}
			if f.disk == "" {
				if !f.tui && !prompt.IsTerminal(a.stderr) || f.asJSON || f.dryRun {
					return usageError{errors.New("--disk is required when not on a terminal (or with --json, --dry-run)")}
				}
				return runInstallTUI(cmd, a, &f)
			}
			return runInstall(cmd, a, &f)
		},
	}
	f.register(cmd)
	return cmd
}

func (f *installFlags) register(cmd *cobra.Command) {
	f.disks.register(cmd)
	f.pbkdf.register(cmd)
	fl := cmd.Flags()
	fl.StringVar(&f.disk, "disk", "", "the disk: by-id name, /dev/disk/by-id path or device path")
	fl.StringVarP(&f.keyFile, "key-file", "d", "", "read the passphrase from this file (- for stdin)")
	fl.StringVar(&f.recoveryKey, "recovery-key", "", "add a recovery key and write it to this file (mode 0600)")
	fl.StringVar(&f.wipe, "wipe", "none", "wipe first: zero, random, discard, zeroout or none")
	fl.StringVar(&f.label, "label", provision.DefaultLabel, "LUKS and ext4 label")
	fl.StringVar(&f.name, "name", provision.DefaultName, "device-mapper name (/dev/mapper/NAME)")
	fl.StringVar(&f.mount, "mount", provision.DefaultMount, "mount point of the data volume")
	fl.StringVar(&f.listen, "listen", provision.DefaultListen, "address the server listens on")
	fl.StringVar(&f.answers, "answers", "", "read unattended answers from this TOML file")
	fl.BoolVar(&f.wholeDisk, "whole-disk", false, "put LUKS on the bare disk instead of one GPT partition")
	fl.BoolVar(&f.discard, "allow-discards", false, "let discards (TRIM) through dm-crypt")
	fl.BoolVar(&f.yes, "yes", false, "do not ask to type the disk's name")
	fl.BoolVar(&f.reformat, "reformat", false, "allow formatting the installed volume again (a new confirmation)")
	fl.BoolVar(&f.dryRun, "dry-run", false, "print the plan and write nothing")
	fl.BoolVar(&f.asJSON, "json", false, "print events and the result as JSON lines on stdout")
	fl.BoolVar(&f.tui, "tui", false, "run the interactive installer even when stderr is not a terminal")
	fl.StringVar(&f.etc, "etc", "/etc", "configuration root (for tests)")
	_ = fl.MarkHidden("etc")
	_ = fl.MarkHidden("tui")
}

// options turns the flags into provision.Options.
func (f *installFlags) options(a *app) (provision.Options, error) {
	mode := provision.WipeNone
	if f.wipe != "none" && f.wipe != "" {
		m, err := wipe.ParseMode(f.wipe)
		if err != nil {
			return provision.Options{}, usageError{err}
		}
		mode = m
	}
	kdf, err := f.pbkdf.resolve(a)
	if err != nil {
		return provision.Options{}, err
	}
	o := provision.Options{
		Disk: f.disk, WholeDisk: f.wholeDisk, Wipe: mode, Label: f.label, Name: f.name, Mount: f.mount,
		Listen: f.listen, PBKDF: kdf, RecoveryKey: f.recoveryKey != "", Discard: f.discard, Reformat: f.reformat,
	}
	if err := o.WithDefaults().Check(); err != nil {
		return o, usageError{err}
	}
	return o, nil
}

// installSystem returns the host System with discovery through the guard
// flags.
func installSystem(cmd *cobra.Command, a *app, f *installFlags) provision.System {
	sys := provision.HostSystem(a.log, func(ctx context.Context) ([]disk.Disk, error) {
		return f.disks.discover(cmd, a, false)
	})
	sys.Etc = f.etc
	return sys
}

// installPlan discovers the disks and plans the install on the chosen one.
func installPlan(cmd *cobra.Command, a *app, f *installFlags, sys *provision.System) (*provision.Plan, error) {
	o, err := f.options(a)
	if err != nil {
		return nil, err
	}
	ds, err := sys.Discover(cmd.Context())
	if err != nil {
		return nil, err
	}
	d, ok := disk.Find(ds, f.disk)
	if !ok {
		return nil, fmt.Errorf("install on %s: no disk has that name (see simplecloud disks)", f.disk)
	}
	cfg, st, err := sys.Previous()
	if err != nil {
		return nil, err
	}
	return provision.NewPlan(o, *d, cfg, st)
}

func runInstall(cmd *cobra.Command, a *app, f *installFlags) error {
	sys := installSystem(cmd, a, f)
	p, err := installPlan(cmd, a, f, &sys)
	if err != nil {
		return err
	}
	out := provision.NewPrinter(a.stdout, a.stderr, prompt.IsTerminal(a.stderr), f.asJSON)
	if f.dryRun {
		return out.Plan(p)
	}
	if !f.yes {
		name := p.Disk.ID
		if err := a.ask().ConfirmName(fmt.Sprintf("%s (%s, %s)", name, p.Disk.Path, disk.Size(p.Disk.SizeBytes)), name); err != nil {
			return err
		}
	}
	pass, err := luksNewPassphrase(a, f.keyFile, "passphrase for the data disk")
	if err != nil {
		return err
	}
	defer clear(pass)
	sec := provision.Secrets{Passphrase: pass}
	if f.recoveryKey != "" {
		rk, err := luks.NewRecoveryKey()
		if err != nil {
			return err
		}
		if err := os.WriteFile(f.recoveryKey, []byte(rk+"\n"), 0o600); err != nil {
			return fmt.Errorf("write recovery key: %w", err)
		}
		sec.RecoveryKey = []byte(rk)
		defer clear(sec.RecoveryKey)
	}
	ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	in := &provision.Installer{Sys: sys, Binary: selfPath()}
	res, err := in.Apply(ctx, p, sec, out.Event)
	if err != nil {
		return err
	}
	return out.Result(res)
}

// selfPath is the path of the running binary, for the systemd units.
func selfPath() string {
	p, err := os.Executable()
	if err != nil {
		return "/usr/local/bin/simplecloud"
	}
	return p
}
