// Package core is the pure heart of sync: the tree model, the three-way
// reconcile, conflict naming, ignore rules and the safety checks. It does
// no I/O (the ignore rules' test runs git as an oracle) and imports
// nothing else from the project; the scanner, the watcher, the executors
// and the wire protocol live in sync/client, sync/server and sync/proto,
// which convert to and from these types.
//
// The model is Mutagen's Reconcile(ancestor, alpha, beta): the client
// keeps the ancestor, the last state both sides agreed on, and each run
// compares it with a snapshot of each side. Unlike Mutagen, which walks
// trees of nested entries, a Tree here is a flat slice sorted so that a
// directory's descendants follow it (see ComparePaths): 72 bytes per
// entry plus its path, cheap to walk three at a time and to search.
//
// A run, as a client drives it:
//
//	plan := core.Reconcile(ancestor, local, remote, opts)
//	if err := core.SafetyCheck(ancestor, local, remote, &plan, limits); err != nil { ... }
//	// execute plan.Local and plan.Remote phase by phase (see Op), each
//	// action (plan.Local.At(i)) only if its Old still Matches what is on
//	// disk; then keep the ones that succeeded
//	plan.Local.Keep(okLocal)
//	plan.Remote.Keep(okRemote)
//	local2, _ := plan.Local.Apply(local, remote)
//	remote2, _ := plan.Remote.Apply(remote, local2)
//	ancestor = core.Settle(ancestor, local2, remote2)
//
// Reconcile documents the rules; the decisions behind them, briefly:
//
//   - Sameness is kind, content (size and hash, or a link's target) and
//     permission bits; mtimes never make a change or a conflict, they are
//     carried with written files (two file systems round them
//     differently, and a touch is not an edit).
//   - A change beats a deletion; a directory deleted on one side keeps
//     only what the other side added or changed in it.
//   - A conflict keeps both versions on both sides; the newer (by mtime)
//     keeps the name, so two clients of one server pick the same winner
//     whichever of them runs; the loser becomes a Syncthing-style conflict
//     copy (ConflictName).
//   - Permission bits merge without conflict; bits both sides changed are
//     ANDed, so a permission taken away on either side stays away.
//   - With no ancestor, nothing is deleted or overwritten: a lost state
//     costs conflict copies, never data.
//   - Actions name the state they expect (compare-and-swap), so a change
//     that raced the plan is left for the next run, never overwritten.
//   - Ignored paths are removed from all three trees before anything else,
//     so adding a pattern never deletes files on the other side.
package core
