package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"strings"

	"github.com/spf13/cobra"
	"golang.org/x/sys/unix"

	"simplecloud/provision"
)

// Where firstboot looks for unattended answers: the kernel command line
// option names a file; without it, the file on the ESP is used when it
// exists.
const (
	answersOption = "simplecloud.answers"
	espAnswers    = "/boot/efi/simplecloud/answers.toml"
)

// newFirstbootCmd is the hidden command simplecloud-firstboot@.service runs
// on each console of the appliance image: with no data volume configured it
// runs the installer there (unattended when an answers file is named), then
// stops the installers on the other consoles.
func newFirstbootCmd(a *app) *cobra.Command {
	var config, tty, cmdline string
	cmd := &cobra.Command{
		Use:    "firstboot",
		Short:  "Run the installer at first boot (simplecloud-firstboot@.service)",
		Hidden: true,
		Args:   usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			installed, err := isInstalled(config)
			if err != nil || installed {
				if installed {
					fmt.Fprintf(a.stdout, "simplecloud: the data volume is configured in %s; nothing to install\n", config)
				}
				return err
			}
			line, err := os.ReadFile(cmdline)
			if err != nil {
				return fmt.Errorf("firstboot: %w", err)
			}
			_, statErr := os.Stat(espAnswers)
			answers := firstbootAnswers(string(line), statErr == nil)
			self, err := os.Executable()
			if err != nil {
				return fmt.Errorf("firstboot: %w", err)
			}
			if answers != "" {
				return firstbootUnattended(cmd.Context(), a, self, config, answers, tty)
			}
			fmt.Fprintf(a.stdout, "simplecloud: no data volume yet; starting the installer on %s\n", tty)
			if err := runSelf(cmd.Context(), self, "install", "--tui"); err != nil {
				return err
			}
			stopOtherInstallers(cmd.Context())
			return nil
		},
	}
	cmd.Flags().StringVar(&config, "config", defaultConfig, "configuration file")
	cmd.Flags().StringVar(&tty, "tty", "/dev/console", "the console this instance runs on (for messages)")
	cmd.Flags().StringVar(&cmdline, "cmdline", "/proc/cmdline", "the kernel command line")
	return cmd
}

// firstbootAnswers returns the answers file for an unattended install: the
// value of simplecloud.answers= on the kernel command line, else the file on
// the ESP when it exists, else "" (the interactive installer).
func firstbootAnswers(cmdline string, espExists bool) string {
	for _, f := range strings.Fields(cmdline) {
		if v, ok := strings.CutPrefix(f, answersOption+"="); ok && v != "" {
			return v
		}
	}
	if espExists {
		return espAnswers
	}
	return ""
}

// isInstalled reports whether the configuration names a data volume.
func isInstalled(config string) (bool, error) {
	_, err := provision.LoadConfig(config)
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, provision.ErrNoConfig):
		return false, nil
	}
	return false, err
}

// firstbootUnattended runs install --answers once for all consoles: the
// instances take a lock in turn, and those after the first find the volume
// installed.
func firstbootUnattended(ctx context.Context, a *app, self, config, answers, tty string) error {
	f, err := os.OpenFile("/run/simplecloud-firstboot.lock", os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return fmt.Errorf("firstboot: %w", err)
	}
	defer f.Close()
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); errors.Is(err, unix.EWOULDBLOCK) {
		fmt.Fprintf(a.stdout, "simplecloud: waiting for the unattended install on another console (answers %s)\n", answers)
		err = unix.Flock(int(f.Fd()), unix.LOCK_EX)
		if err != nil {
			return fmt.Errorf("firstboot: lock: %w", err)
		}
	} else if err != nil {
		return fmt.Errorf("firstboot: lock: %w", err)
	}
	if installed, err := isInstalled(config); err != nil || installed {
		return err
	}
	if _, err := os.Stat(answers); errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("firstboot: answers file %s: %w", answers, err)
	}
	fmt.Fprintf(a.stdout, "simplecloud: installing unattended from %s on %s\n", answers, tty)
	return runSelf(ctx, self, "install", "--answers", answers)
}

// runSelf runs the binary with args on this process's terminal.
func runSelf(ctx context.Context, self string, args ...string) error {
	c := exec.CommandContext(ctx, self, args...)
	c.Stdin, c.Stdout, c.Stderr = os.Stdin, os.Stdout, os.Stderr
	if err := c.Run(); err != nil {
		return fmt.Errorf("firstboot: simplecloud %s: %w", args[0], err)
	}
	return nil
}

// stopOtherInstallers stops the installer instances still waiting on the
// other consoles (and this one's, which is done), so their gettys start.
func stopOtherInstallers(ctx context.Context) {
	_ = exec.CommandContext(ctx, "systemctl", "--no-block", "stop", "simplecloud-firstboot@*.service").Run()
}
