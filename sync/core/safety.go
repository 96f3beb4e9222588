package core

import (
	"errors"
	"fmt"
)

// ErrEmptyRoot is wrapped by SafetyCheck's error when a side's root is
// empty where the ancestor had files: most likely a disk that is not
// mounted or a folder moved away, not a person deleting everything.
var ErrEmptyRoot = errors.New("root is empty where the last sync had files")

// DeleteError is SafetyCheck's error when a plan would delete more than
// the allowed share of a side's files.
type DeleteError struct {
	Side    Side
	Deletes int // files and links the plan would delete on Side
	Files   int // files and links Side holds now
	Percent float64
	Max     float64
}

func (e *DeleteError) Error() string {
	return fmt.Sprintf("the plan would delete %d of %d files (%.0f%%) on the %v side, more than the %.0f%% allowed (--max-delete, or --force)",
		e.Deletes, e.Files, e.Percent, e.Side, e.Max)
}

// Limits are SafetyCheck's thresholds.
type Limits struct {
	// MaxDeletePercent is the largest share of a side's files (and
	// links) that a plan may delete; 0 means no limit.
	MaxDeletePercent float64
	// Grace is a number of deletes allowed whatever the share, so that
	// deleting one of three files is not refused; 0 allows none.
	Grace int
	// Force lifts MaxDeletePercent (never the empty-root check: to empty a
	// folder, delete on the side that is still there).
	Force bool
}

// SafetyCheck refuses a plan before anything is changed: when a side is
// empty where the ancestor had files and the plan would delete anything on
// the other side (ErrEmptyRoot, checked for both sides, since an unmounted
// server disk looks the same as an unmounted client one), or when it would
// delete more than lim allows of either side (a *DeleteError). A missing
// root or one on another file system than last time are facts only the
// caller sees; it refuses those itself.
func SafetyCheck(ancestor, local, remote Tree, p *Plan, lim Limits) error {
	if ancestor.Files() > 0 {
		for _, s := range []struct {
			side  Side
			tree  Tree
			other Side
		}{{Local, local, Remote}, {Remote, remote, Local}} {
			if s.tree.Files() == 0 && p.Counts(s.other).Deleted > 0 {
				return fmt.Errorf("%v %w (%d files); refusing to delete on the %v side", s.side, ErrEmptyRoot, ancestor.Files(), s.other)
			}
		}
	}
	if lim.Force || lim.MaxDeletePercent <= 0 {
		return nil
	}
	for _, s := range []struct {
		side Side
		tree Tree
	}{{Local, local}, {Remote, remote}} {
		n, files := p.Counts(s.side).Deleted, s.tree.Files()
		if n <= lim.Grace || files == 0 {
			continue
		}
		if pct := 100 * float64(n) / float64(files); pct > lim.MaxDeletePercent {
			return &DeleteError{Side: s.side, Deletes: n, Files: files, Percent: pct, Max: lim.MaxDeletePercent}
		}
	}
	return nil
}
