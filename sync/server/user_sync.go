package server

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime"
	"runtime/debug"
	"time"

	"simplecloud/sync/dirty"
	"simplecloud/sync/rootfs"
	"simplecloud/sync/syncd"
	"simplecloud/sync/versions"
)

// SyncSubsystem is the SSH subsystem that speaks the sync protocol
// (sync/proto): `ssh -s HOST simplecloud-sync`.
const SyncSubsystem = "simplecloud-sync"

// SyncConfig is the [sync] table of simplecloud.toml.
type SyncConfig struct {
	// Versions is "staggered" (the default: every version for an hour,
	// one an hour for a day, one a day for 30 days, one a week after) or
	// "all" (never thinned, only capped).
	Versions string `toml:"versions"`
	// VersionsCapPercent caps the version store of each user at this
	// share of the volume (default 10).
	VersionsCapPercent float64 `toml:"versions_cap_percent"`
}

// validate checks the table.
func (c SyncConfig) validate() error {
	switch c.Versions {
	case "", "staggered", "all":
	default:
		return fmt.Errorf("[sync] versions = %q: want \"staggered\" or \"all\"", c.Versions)
	}
	if c.VersionsCapPercent < 0 || c.VersionsCapPercent > 100 {
		return fmt.Errorf("[sync] versions_cap_percent = %v: want 0 to 100", c.VersionsCapPercent)
	}
	return nil
}

// policy returns the version policy for the volume that root is on.
func (c SyncConfig) policy(root *rootfs.Root) versions.Policy {
	p := versions.Policy{Staggered: c.Versions != "all"}
	pct := c.VersionsCapPercent
	if pct == 0 {
		pct = 10
	}
	if st, err := root.StatFS(""); err == nil {
		p.CapBytes = int64(float64(st.Blocks) * float64(st.Bsize) * pct / 100)
	}
	return p
}

// startSync serves the sync subsystem on ch in this process, which already
// runs as the user.
func (s *connServer) startSync(ctx context.Context, c *conn, ch io.ReadWriteCloser, done chan<- uint32) {
	c.log.Info("sync session started", "root", c.root, "pid", os.Getpid())
	// The connection child runs on one P (see serve), which suits SFTP
	// and SSH alone. A sync session's uploads also hash and write what
	// arrives, many at once: on one P that work, the SSH decryption and
	// every short system call (create, write, rename) took turns on one
	// thread, which ran 5.4 of the 9 s of a first sync of 10,000 small
	// files while the disk and the other core waited. Two Ps let them
	// overlap: that sync took 7.0 s instead of 10.0-12.6 s (same runs,
	// interleaved, 2 cores).
	runtime.GOMAXPROCS(min(syncProcs, runtime.NumCPU()))
	// And the collector's default target, not serve's 400%: a sync
	// session allocates a file's worth of garbage per upload, and with
	// two Ps its heap grew to 318 B a file in a first sync of 200,000
	// files (the goal is 300).
	debug.SetGCPercent(100)
	go func() {
		code := uint32(0)
		if err := ServeSync(ctx, ch, c.root, s.cfg, s.oracle, c.log); err != nil {
			c.log.Info("sync session ended", "err", err)
			code = 1
		} else {
			c.log.Info("sync session ended")
		}
		done <- code
	}()
}

// markRoot has the parent mark the file system of the user's root, by the
// handle the walks start from (not the path again, which could lead
// elsewhere by now): the walks trust only directories on its device.
func markRoot(oracle *dirty.Client, r *rootfs.Root) error {
	d, err := r.OpenDir("/")
	if err != nil {
		return err
	}
	defer d.Close()
	return oracle.Mark(d.Fd())
}

// syncProcs is how many Ps a connection child has once it serves sync.
const syncProcs = 2

// ServeSync serves the sync protocol on rw for the tree below root, as the
// current user (never as root unless cfg.PermitRoot). Replaced and deleted
// files are kept in root/.simplecloud/versions, pruned at the start of every
// session. The epoch is new for every session: each connection has a child
// process of its own, and a client lists again after any reconnect.
// oracle, when not nil, is the parent's oracle of changed directories:
// listings then stat only the files of directories that changed since the
// last one (see sync/dirty).
func ServeSync(ctx context.Context, rw io.ReadWriteCloser, root string, cfg Config, oracle *dirty.Client, log *slog.Logger) error {
	defer rw.Close()
	if os.Geteuid() == 0 && !cfg.PermitRoot {
		return errors.New("serve sync: refusing to run as root")
	}
	r, err := rootfs.Open(root)
	if err != nil {
		return err
	}
	defer r.Close()
	store := versions.Open(r.Strict(), cfg.Sync.policy(r), log)
	go func() {
		if st, err := store.Prune(time.Now()); err != nil {
			log.Warn("prune versions", "err", err)
		} else if st.Removed > 0 {
			log.Info("pruned versions", "removed", st.Removed, "bytes", st.RemovedBytes, "kept", st.Kept)
		}
	}()
	var b [8]byte
	rand.Read(b[:])
	o := syncd.Options{Epoch: binary.BigEndian.Uint64(b[:]), Versions: store, Umask: cfg.Umask,
		Agent: "simplecloud", Logger: log}
	if oracle != nil {
		if err := markRoot(oracle, r); err != nil {
			log.Debug("no changed-directory oracle for this session", "err", err)
		} else {
			o.Oracle = oracle
		}
	}
	if err := syncd.Serve(ctx, rw, r, o); err != nil {
		return fmt.Errorf("serve sync: %w", err)
	}
	return nil
}
