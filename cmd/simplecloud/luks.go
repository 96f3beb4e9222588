package main

import (
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"simplecloud/internal/prompt"
	"simplecloud/luks"
)

// exitInactive is cryptsetup's exit code for a device that is not active
// (status) or not a LUKS device.
const exitInactive = 4

func newLuksCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "luks",
		Short: "Format, open and manage LUKS2 volumes (cryptsetup-compatible)",
		Long: `luks formats, opens and manages LUKS2 (and reads LUKS1) volumes. Flags follow
cryptsetup's names; headers written here are accepted by cryptsetup and back.`,
	}
	cmd.AddCommand(
		newLuksFormatCmd(a), newLuksOpenCmd(a), newLuksCloseCmd(a), newLuksStatusCmd(a),
		newLuksDumpCmd(a), newLuksAddKeyCmd(a), newLuksRemoveKeyCmd(a), newLuksChangeKeyCmd(a),
		newLuksKillSlotCmd(a), newLuksRecoveryKeyCmd(a), newLuksHeaderBackupCmd(a),
		newLuksHeaderRestoreCmd(a), newLuksEraseCmd(a), newLuksRepairCmd(a),
	)
	return cmd
}

// luksKeyOpts are the flags that say where a passphrase comes from.
type luksKeyOpts struct {
	keyFile string
	tries   int
}

func (k *luksKeyOpts) register(cmd *cobra.Command, usage string) {
	cmd.Flags().StringVarP(&k.keyFile, "key-file", "d", "", usage)
}

// luksPbkdfOpts are cryptsetup's flags for the KDF of a new keyslot.
type luksPbkdfOpts struct {
	typ, hash string
	iterTime  int
	memory    int
	parallel  int
	force     int
}

func (p *luksPbkdfOpts) register(cmd *cobra.Command) {
	f := cmd.Flags()
	f.StringVar(&p.typ, "pbkdf", "argon2id", "key derivation function: argon2id, argon2i or pbkdf2")
	f.StringVar(&p.hash, "hash", "sha256", "hash for pbkdf2")
	f.IntVarP(&p.iterTime, "iter-time", "i", 2000, "benchmark the KDF to take this many milliseconds")
	f.IntVar(&p.memory, "pbkdf-memory", luks.DefaultMaxMemoryKiB, "argon2 memory cost limit in KiB (also capped at half of MemAvailable)")
	f.IntVar(&p.parallel, "pbkdf-parallel", 0, "argon2 threads (default min(4, CPUs))")
	f.IntVar(&p.force, "pbkdf-force-iterations", 0, "fixed iterations (pbkdf2) or time cost (argon2); skips the benchmark")
}

// resolve builds the luks.PBKDF, capping memory and threads like the issue
// asks, and wiring the "benchmarking" progress to stderr.
func (p *luksPbkdfOpts) resolve(a *app) (luks.PBKDF, error) {
	maxMem, threads := luks.Limits()
	mem := p.memory
	if mem > maxMem {
		if mem != luks.DefaultMaxMemoryKiB {
			fmt.Fprintf(a.stderr, "PBKDF memory %d KiB is more than half of the available memory; using %d KiB.\n", mem, maxMem)
		}
		mem = maxMem
	}
	if p.parallel > 0 {
		threads = p.parallel
	}
	if p.iterTime <= 0 {
		return luks.PBKDF{}, usageError{fmt.Errorf("--iter-time %d: want a positive number of milliseconds", p.iterTime)}
	}
	switch p.typ {
	case "argon2id", "argon2i", "pbkdf2":
	default:
		return luks.PBKDF{}, usageError{fmt.Errorf("--pbkdf %q: want argon2id, argon2i or pbkdf2", p.typ)}
	}
	announced := false
	return luks.PBKDF{
		Type: p.typ, Hash: p.hash, IterTime: time.Duration(p.iterTime) * time.Millisecond,
		MaxMemoryKiB: mem, Parallel: threads, ForceIterations: p.force,
		Progress: func(b luks.Benchmark) {
			if !announced {
				fmt.Fprintf(a.stderr, "Benchmarking %s for %d ms...\n", b.Type, p.iterTime)
				announced = true
			}
			a.log.Debug("benchmarking", "pbkdf", b.Type, "iterations", b.Iterations, "memory_kib", b.MemoryKiB,
				"threads", b.Threads, "ms", b.Elapsed.Milliseconds())
		},
	}, nil
}

// luksReadKeyFile reads a key file whole, as cryptsetup does ("-" is stdin).
func luksReadKeyFile(a *app, path string) ([]byte, error) { return luks.ReadKeyFile(path, a.stdin) }

// luksNewPassphrase gets a new passphrase from a key file or the terminal
// (asked twice when interactive).
func luksNewPassphrase(a *app, keyFile, what string) ([]byte, error) {
	if keyFile != "" {
		return luksReadKeyFile(a, keyFile)
	}
	return a.ask().NewPassphrase("Enter " + what + ": ")
}

// luksConfirm asks the user to type YES unless batch mode is on.
func luksConfirm(a *app, batch bool, warning string) error {
	if batch {
		return nil
	}
	return a.ask().ConfirmYES(warning)
}

// luksOpenVolume opens path under the metadata lock (exclusive when write)
// with its header, warning of a damaged header copy. Errors carry exit code
// 1 for bad headers and devices.
func luksOpenVolume(a *app, path string, write bool) (*luks.Volume, error) {
	v, err := luks.OpenVolume(path, write)
	if errors.Is(err, luks.ErrNotLUKS) {
		return nil, fmt.Errorf("%s is not a valid LUKS device", path)
	} else if err != nil {
		return nil, err
	}
	for _, e := range []error{v.Header.PrimaryErr, v.Header.SecondaryErr} {
		if e != nil {
			fmt.Fprintf(a.stderr, "Warning: %v; run 'simplecloud luks repair %s'.\n", e, path)
		}
	}
	return v, nil
}

// luksUnlock recovers the volume key: from the key file, or by prompting up
// to tries times (once when stdin is not a terminal). A wrong passphrase
// exits with exitAuth.
func luksUnlock(a *app, v *luks.Volume, k luksKeyOpts, slot int) ([]byte, int, error) {
	if k.keyFile != "" {
		pass, err := luksReadKeyFile(a, k.keyFile)
		if err != nil {
			return nil, -1, err
		}
		defer clear(pass)
		return luksUnlockWith(v, pass, slot)
	}
	tries := max(k.tries, 1)
	if !prompt.IsTerminal(a.stdin) {
		tries = 1
	}
	vk, s, err := v.UnlockAsking(slot, tries, func(_ int, last error) ([]byte, error) {
		if last != nil {
			fmt.Fprintln(a.stderr, "No key available with this passphrase.")
		}
		return a.ask().Passphrase(fmt.Sprintf("Enter passphrase for %s: ", v.Dev.Path))
	})
	if errors.Is(err, luks.ErrWrongKey) {
		return nil, -1, withExitCode(exitAuth, luks.ErrWrongKey)
	}
	return vk, s, err
}

// luksUnlockWith recovers the volume key with one passphrase. A wrong one
// exits with exitAuth.
func luksUnlockWith(v *luks.Volume, pass []byte, slot int) ([]byte, int, error) {
	key, s, err := v.Header.Unlock(v.Dev, pass, slot)
	if errors.Is(err, luks.ErrWrongKey) {
		return nil, -1, withExitCode(exitAuth, luks.ErrWrongKey)
	}
	return key, s, err
}
