package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"simplecloud/internal/progress"
	"simplecloud/internal/prompt"
	"simplecloud/sync/client"
	"simplecloud/sync/client/remote"
	"simplecloud/sync/core"
)

// syncFlags are the transport flags sync, versions and restore share.
type syncFlags struct {
	ssh  remote.SSHOptions
	json bool
}

func (f *syncFlags) add(cmd *cobra.Command) {
	cmd.Flags().IntVarP(&f.ssh.Port, "port", "p", 0, "server port (default: ssh's, usually 22)")
	cmd.Flags().StringVarP(&f.ssh.Identity, "identity", "i", "", "private key file, passed to ssh")
	cmd.Flags().StringVarP(&f.ssh.Command, "rsh", "e", "", `the ssh command to run, with its options (default "ssh")`)
	cmd.Flags().BoolVar(&f.json, "json", false, "print the result as JSON")
}

func newSyncCmd(a *app) *cobra.Command {
	var f syncFlags
	var once, dryRun, force bool
	var maxDelete float64
	var keyID string
	cmd := &cobra.Command{
		Use:   "sync LOCAL [USER@]HOST:PATH",
		Short: "Sync a local folder with a folder on a SimpleCloud server, both ways",
		Long: `Sync a local folder with a folder on a SimpleCloud server, both ways, over the
user's own ssh (its config, keys, agent and known_hosts). Changes made on
either side since the last sync are carried over; a file changed on both
sides is kept twice (NAME.sync-conflict-DATE-HOST.EXT). Whatever the sync
overwrites or deletes is kept as a version (.simplecloud/versions on each
side). With --key the folder is encrypted (zero-knowledge): names and contents
are sealed with the folder key before they leave, and the server stores only
ciphertext. Exit status 0: both sides are equal; 1: an error or changes left
for the next run; 2: a wrong key, or the server's copy failed authentication
(changed or truncated ciphertext: the local copy is kept); 64: a bad command
line.`,
		Args: usageArgs(cobra.ExactArgs(2)),
		RunE: func(cmd *cobra.Command, args []string) error {
			t, err := remote.ParseTarget(args[1])
			if err != nil {
				return usageError{err}
			}
			local, err := filepath.Abs(args[0])
			if err != nil {
				return usageError{err}
			}
			if maxDelete < 0 || maxDelete > 100 {
				return usageError{fmt.Errorf("--max-delete %v: want a percentage from 0 to 100", maxDelete)}
			}
			stateDir, err := client.StateDir()
			if err != nil {
				return err
			}
			host, _ := os.Hostname()
			o := client.Options{
				Local: local, RemoteName: t.String(), RemotePath: t.Path, StateDir: stateDir,
				Limits: core.Limits{MaxDeletePercent: maxDelete, Grace: 2, Force: force}, DryRun: dryRun,
				LocalHost: host, RemoteHost: t.Host, Out: a.stdout, Logger: a.log,
			}
			if keyID != "" {
				ks, err := keyStore()
				if err != nil {
					return err
				}
				if o.Key, err = ks.Load(keyID); err != nil {
					return fmt.Errorf("sync: %w (simplecloud key list shows the keys held here; key import adds one)", err)
				}
			}
			pw := progress.New(a.stdout, a.stderr, prompt.IsTerminal(a.stderr), false)
			stop := func() {}
			if !f.json && !dryRun && prompt.IsTerminal(a.stderr) {
				o.Progress = &client.Progress{}
				stop = showProgress(o.Progress, pw)
			}
			defer func() { stop() }()
			if !once && !dryRun {
				return sealedExit(a.syncForever(cmd.Context(), t, f, o, pw))
			}
			// The connection is made while the run loads its state and
			// scans the folder (see RunOnceDialing).
			sum, rc, err := client.RunOnceDialing(cmd.Context(), func(ctx context.Context) (*remote.Client, error) {
				return client.Connect(ctx, t, f.ssh, "simplecloud/"+version, os.Stderr)
			}, o)
			if rc == nil {
				return fmt.Errorf("sync: %w", err) // the connection failed
			}
			defer rc.Close()
			stop()
			stop = func() {}
			if err != nil {
				return sealedExit(fmt.Errorf("sync %s with %s: %w", args[0], t, err))
			}
			if f.json {
				json.NewEncoder(a.stdout).Encode(sum)
			} else if !dryRun {
				pw.Result("uploaded %d, downloaded %d, deleted %d here and %d there, %d conflicts; %d bytes sent, %d received\n",
					sum.Uploaded, sum.Downloaded, sum.DeletedLocal, sum.DeletedRemote, sum.Conflicts, sum.BytesSent, sum.BytesReceived)
			}
			if !sum.Converged && !dryRun {
				return fmt.Errorf("sync: %d changes left for the next run (files being written, or changed during the sync)", sum.Failed+sum.Skipped)
			}
			return nil
		},
	}
	f.add(cmd)
	cmd.Flags().BoolVar(&once, "once", false, "one full two-way sync, then exit (default: keep running)")
	cmd.Flags().BoolVarP(&dryRun, "dry-run", "n", false, "show what would be done, change nothing")
	cmd.Flags().Float64Var(&maxDelete, "max-delete", 50, "refuse a run that deletes more than this percent of either side's files")
	cmd.Flags().StringVar(&keyID, "key", "", "encrypt the folder with this key (its id, from simplecloud key list): the server holds only ciphertext")
	cmd.Flags().BoolVar(&force, "force", false, "lift --max-delete, and sync a folder found on another file system than last time, merging without deleting (never lifts the empty-folder check)")
	return cmd
}

// sealedExit gives the errors of an encrypted folder's key and
// authentication the exit status of failed authentication.
func sealedExit(err error) error {
	if errors.Is(err, client.ErrWrongKey) || errors.Is(err, client.ErrTampered) {
		return withExitCode(exitAuth, err)
	}
	return err
}

// progressAfter is how long a run transfers before its progress line
// shows: short runs (most of the continuous mode's) print none.
const progressAfter = time.Second

// showProgress redraws g's line on w while a run transfers, and ends the
// line when the run does; the function it returns stops it.
func showProgress(g *client.Progress, w *progress.Writer) func() {
	done := make(chan struct{})
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		tick := time.NewTicker(200 * time.Millisecond)
		defer tick.Stop()
		shown := false
		for {
			select {
			case <-done:
				if shown {
					w.Progress(g.Snapshot().Line(), "", true)
					w.End()
				}
				return
			case <-tick.C:
			}
			s := g.Snapshot()
			switch {
			case s.Active && s.Files > 0 && s.Elapsed >= progressAfter:
				w.Progress(s.Line(), s.Line(), false)
				shown = true
			case !s.Active && shown:
				w.Progress(s.Line(), "", true)
				w.End()
				shown = false
			}
		}
	}()
	var once sync.Once
	return func() { once.Do(func() { close(done); <-stopped }) }
}

// syncForever keeps the folder in step until SIGINT or SIGTERM: the first
// lets the run in progress finish and exits 0, a second interrupts it.
// With --json every run prints one line.
func (a *app) syncForever(ctx context.Context, t remote.Target, f syncFlags, o client.Options, pw *progress.Writer) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stop := make(chan struct{})
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM)
	defer signal.Stop(sigs)
	go func() {
		<-sigs
		a.log.Info("stopping after the run in progress (again to interrupt it)")
		close(stop)
		<-sigs
		cancel()
	}()
	connect := func(ctx context.Context) (*remote.Client, error) {
		return client.Connect(ctx, t, f.ssh, "simplecloud/"+version, os.Stderr)
	}
	enc := json.NewEncoder(a.stdout)
	report := func(s client.Summary, err error) {
		if f.json {
			line := struct {
				Time time.Time `json:"time"`
				client.Summary
				Error string `json:"error,omitempty"`
			}{Time: time.Now().UTC(), Summary: s}
			if err != nil {
				line.Error = err.Error()
			}
			enc.Encode(line)
			return
		}
		switch {
		case err != nil:
			a.log.Warn("sync", "err", err)
		case s.Uploaded+s.Downloaded+s.DeletedLocal+s.DeletedRemote+s.Conflicts > 0:
			pw.Result("%s uploaded %d, downloaded %d, deleted %d here and %d there, %d conflicts\n",
				time.Now().Format("15:04:05"), s.Uploaded, s.Downloaded, s.DeletedLocal, s.DeletedRemote, s.Conflicts)
		}
	}
	if err := client.Watch(ctx, stop, connect, o, report); err != nil {
		return fmt.Errorf("sync %s with %s: %w", o.Local, t, err)
	}
	return nil
}
