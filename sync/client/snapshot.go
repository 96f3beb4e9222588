package client

import (
	"errors"

	"simplecloud/sync/core"
	"simplecloud/sync/scan"
)

// errStopped ends a local scan whose run returned before it needed it.
var errStopped = errors.New("the run ended before the scan")

// localScan is the local folder, open, and its snapshot under way beside
// the rest of the run (see RunOnce).
type localScan struct {
	l    *local
	done chan struct{}
	t    core.Tree
	lazy bool
	err  error
}

// scanLocal opens the folder of o, whose files hash with h (see
// openLocal), and starts snapshotLazy in a goroutine of its own, with its
// index beside the state file statePath unless o.DryRun; unknown is not
// to be used until wait returns. The caller closes it.
func scanLocal(o Options, h scan.Hasher, statePath string, unknown map[string]bool, hint int, grow func(int)) (*localScan, error) {
	l, err := openLocal(o.Local, h)
	if err != nil {
		return nil, err
	}
	if !o.DryRun {
		l.index = scan.DirIndex{Path: statePath + ".index"}
	}
	s := &localScan{l: l, done: make(chan struct{})}
	go func() {
		defer close(s.done)
		s.t, s.lazy, s.err = l.snapshotLazy(unknown, hint, grow)
	}()
	return s, nil
}

// wait returns the snapshot once it is taken.
func (s *localScan) wait() (core.Tree, bool, error) {
	<-s.done
	return s.t, s.lazy, s.err
}

// close ends the scan if it is still going (a run that returned before it
// needed it), waits for it and closes the folder.
func (s *localScan) close() {
	s.l.stopped.Store(true)
	<-s.done
	s.l.close()
}
