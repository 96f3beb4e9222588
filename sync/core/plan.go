package core

import (
	"fmt"
	"time"
)

// Side names one of the two replicas.
type Side uint8

// The two sides: the client's folder and the server's.
const (
	Local Side = iota + 1
	Remote
)

// String returns "local" or "remote".
func (s Side) String() string {
	switch s {
	case Local:
		return "local"
	case Remote:
		return "remote"
	}
	return fmt.Sprintf("side(%d)", uint8(s))
}

// Op is what an Action does. Its value is also its phase: an executor
// runs a plan phase by phase, every action of a phase on both sides
// before any of the next (within a phase, a side's actions run in list
// order, and the two sides' lists do not depend on each other). Reading
// this order top to bottom explains it: conflict losers step aside first,
// directories exist before anything moves or is written into them, moves
// take their sources before removals empty and remove directories, and
// files are written last into a tree of the right shape.
type Op uint8

// The operations, in phase order.
const (
	// OpAside renames the entry at From (a conflict's loser) to Path, a
	// conflict copy name in the same directory. Old is the entry expected
	// at From; nothing may be at Path.
	OpAside Op = iota + 1
	// OpMkdir creates the directory New at Path. Old is what is expected
	// there: nothing, or a file or link that the directory replaces (the
	// executor removes it, after checking it, first).
	OpMkdir
	// OpMove renames the file at From, which is expected to be Old, to
	// Path, where nothing may be, and gives it New's mode and mtime (New
	// has Old's content): a move found by content hash, so nothing is sent.
	OpMove
	// OpRemove removes the entry Old at Path; a directory is empty of
	// synced entries by then (ignored ones are the executor's business).
	OpRemove
	// OpWrite makes Path hold New, a file or link, in place of Old
	// (nothing, or a file or link of any content). A file's content is read
	// from From on the other side and must hash to New.Hash; the executor
	// writes a temporary file (named with TempPrefix) and renames it.
	OpWrite
	// OpSetMeta changes the mode (and mtime) of Old at Path to New's,
	// the content being the same.
	OpSetMeta
)

var opNames = [...]string{"", "aside", "mkdir", "move", "remove", "write", "setmeta"}

// String returns the op's name.
func (o Op) String() string {
	if int(o) < len(opNames) && o != 0 {
		return opNames[o]
	}
	return fmt.Sprintf("op(%d)", uint8(o))
}

// Phase returns the phase the op runs in (OpWrite and OpSetMeta share one).
func (o Op) Phase() int {
	if o == OpSetMeta {
		return int(OpWrite)
	}
	return int(o)
}

// Action is one step on one side. Old is the state the plan was based on
// (compare-and-swap: the executor checks Old.Matches(current) and treats
// a mismatch as a race to be left for the next reconcile, never
// overwriting or deleting what it did not expect); New is the state the
// step leaves.
type Action struct {
	Op   Op
	Path string
	From string
	Old  Entry
	New  Entry
}

// String formats the action for tests and --dry-run.
func (a Action) String() string {
	s := a.Op.String() + " " + a.Path
	if a.From != "" && a.From != a.Path {
		s += " from " + a.From
	}
	return s + " (" + a.Old.String() + " -> " + a.New.String() + ")"
}

// Conflict reports a path both sides changed differently. Both versions
// are kept on both sides: the winner (see wins) at Path, the loser at
// Copy, named by ConflictName with the loser's host.
type Conflict struct {
	Path   string
	Copy   string
	Winner Side
	Kept   Entry
	Lost   Entry
}

// Options are Reconcile's inputs besides the trees.
type Options struct {
	// Now stamps conflict copies' names.
	Now time.Time
	// LocalHost and RemoteHost name the hosts in conflict copies' names.
	LocalHost, RemoteHost string
	// Ignore filters all three trees first; nil applies the built-in rules.
	Ignore *Ignore
}

func (o *Options) host(s Side) string {
	if s == Local {
		return o.LocalHost
	}
	return o.RemoteHost
}

// Plan is what Reconcile decides: each side's actions in execution order
// and the conflicts found.
type Plan struct {
	Local, Remote Actions
	Conflicts     []Conflict
}

// Actions returns the side's actions.
func (p *Plan) Actions(s Side) *Actions {
	if s == Local {
		return &p.Local
	}
	return &p.Remote
}

// Empty reports whether the plan changes nothing.
func (p *Plan) Empty() bool { return p.Local.Len() == 0 && p.Remote.Len() == 0 }

// Counts sums up a side's actions.
type Counts struct {
	Written int   // files and links written (new or replacing)
	Bytes   int64 // bytes of files written
	Deleted int   // files and links removed or replaced by a directory
	Moved   int   // files moved, content not sent
	Dirs    int   // directories made
}

// Counts sums up the side's actions (see Actions.Counts).
func (p *Plan) Counts(s Side) Counts { return p.Actions(s).Counts() }
