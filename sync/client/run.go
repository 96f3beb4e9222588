package client

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	gosync "sync"
	"time"

	"simplecloud/sync/core"
	"simplecloud/sync/proto"
	"simplecloud/sync/rootfs"
	"simplecloud/sync/scan"
)

// Options configure a sync run.
type Options struct {
	// Local is the local folder, an absolute path.
	Local string
	// Remote is the server's folder, relative to the user's root ("" for
	// the root itself).
	Remote string
	// Server names the server in the state's key: [USER@]HOST[:PORT] as
	// the user gave it.
	Server string
	// StateDir holds the state files (see DefaultStateDir).
	StateDir string
	// MaxDeletePercent refuses a run that would delete more than this
	// share of either side's files (0: no limit); Force lifts it, and
	// lets a run go on when the local folder is on another file system
	// than last time (it then merges as on a first run: nothing deleted).
	MaxDeletePercent float64
	Force            bool
	// DryRun prints the plan to Plan and changes nothing.
	DryRun bool
	Plan   io.Writer
	// LocalHost and RemoteHost name the two hosts in conflict copies.
	LocalHost, RemoteHost string
	// Now is the clock (default time.Now).
	Now func() time.Time
	// LocalWorkers and RemoteWorkers bound the actions in flight on each
	// side (defaults 8 and 64).
	LocalWorkers, RemoteWorkers int
	// NoHashCache turns off the local scanner's extended attribute cache.
	NoHashCache bool
	Logger      *slog.Logger
}

// Summary is what a run did, as `simplecloud sync --json` prints it.
type Summary struct {
	Uploaded      int   `json:"uploaded"`
	Downloaded    int   `json:"downloaded"`
	DeletedLocal  int   `json:"deleted_local"`
	DeletedRemote int   `json:"deleted_remote"`
	MovedLocal    int   `json:"moved_local"`
	MovedRemote   int   `json:"moved_remote"`
	Conflicts     int   `json:"conflicts"`
	BytesSent     int64 `json:"bytes_sent"`
	BytesReceived int64 `json:"bytes_received"`
	// Raced counts actions left for the next run because a path changed
	// between the scan and the action; Held, paths left out of this run
	// because their content could not be read; Failed, actions that
	// failed otherwise.
	Raced     int  `json:"raced"`
	Held      int  `json:"held"`
	Failed    int  `json:"failed"`
	Converged bool `json:"converged"`
}

// Errors a caller may branch on; each says what to do in its message.
var (
	// ErrLocalMissing: the local folder does not exist but the last sync
	// had files there.
	ErrLocalMissing = errors.New("the local folder is missing")
	// ErrOtherFS: the local folder is on another file system than at the
	// last sync.
	ErrOtherFS = errors.New("the local folder is on another file system than at the last sync")
	// ErrUnsafe wraps SafetyCheck's refusals.
	ErrUnsafe = errors.New("refusing to sync")
)

func (o *Options) defaults() {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.LocalWorkers <= 0 {
		o.LocalWorkers = 8
	}
	if o.RemoteWorkers <= 0 {
		o.RemoteWorkers = 64
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Plan == nil {
		o.Plan = io.Discard
	}
}

// scanOptions are the local scanner's: the protocol's hash, and nothing
// sync never carries (its own temporary files, editor scratch files).
func (o *Options) scanOptions() scan.Options {
	return scan.Options{
		Hasher:  proto.PlainHasher{},
		Exclude: func(p string, _ bool) bool { return core.Builtin(core.Base(p)) },
		NoCache: o.NoHashCache,
		Logger:  o.Logger,
	}
}

// openLocal opens the local folder, making it on a first sync. A folder
// that is missing where the last sync had files is ErrLocalMissing.
func openLocal(o *Options, st State, had bool) (*rootfs.Root, error) {
	root, err := rootfs.Open(o.Local)
	if err == nil || !errors.Is(err, fs.ErrNotExist) {
		if err != nil {
			return nil, fmt.Errorf("open local folder %s: %w", o.Local, err)
		}
		return root, nil
	}
	if had && st.Ancestor.Len() > 0 {
		return nil, fmt.Errorf("%w: %s held %d files and directories at the last sync; is its disk mounted? Nothing was changed", ErrLocalMissing, o.Local, st.Ancestor.Len())
	}
	if o.DryRun {
		return nil, nil
	}
	if err := os.MkdirAll(o.Local, 0o755); err != nil {
		return nil, fmt.Errorf("make local folder: %w", err)
	}
	if root, err = rootfs.Open(o.Local); err != nil {
		return nil, fmt.Errorf("open local folder %s: %w", o.Local, err)
	}
	return root, nil
}

// snapshots scans the local folder and lists the server's at once.
func snapshots(ctx context.Context, r Remote, o *Options, root *rootfs.Root, anc core.Tree) (loc, rem snapshot, remoteMissing bool, err error) {
	var lerr, rerr error
	var wg gosync.WaitGroup
	if root != nil {
		wg.Add(1)
		go func() {
			defer wg.Done()
			loc, _, lerr = scanLocal(scan.New(root, o.scanOptions()), anc)
		}()
	}
	rem, rerr = listRemote(ctx, r, o.Remote, anc)
	wg.Wait()
	if errors.Is(rerr, errNoRemoteRoot) {
		remoteMissing, rerr = true, nil
	}
	return loc, rem, remoteMissing, errors.Join(lerr, rerr)
}
