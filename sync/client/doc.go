// Package client is the sync client: it keeps a local folder and a folder
// on a SimpleCloud server in step both ways, and holds the stream side of
// `simplecloud mount` (SSHFSArgs builds the sshfs command line).
//
// A run (RunOnce) scans the local folder (sync/scan, with the protocol's
// file hash cached in extended attributes) while it lists the server's
// (the Remote interface, which sync/client/remote's client implements),
// reconciles both with the ancestor, the last state both sides agreed on
// (sync/core, pure), refuses what looks like an accident rather than a
// wish (a missing local folder, one on another file system than last
// time, an empty side, too many deletes), then carries out the plan phase
// by phase on both sides at once, many actions in flight, every one of
// them compare-and-swap: locally by a fresh stat (and hash) of the path
// against the plan's Old right before the change, on the server by the
// Expect every change request carries. A path that changed meanwhile is
// left for the next run, never overwritten. What succeeded is applied to
// the snapshots (core.Apply), settled into the new ancestor (core.Settle)
// and saved atomically in a compact state file (State).
//
// The executors are written here rather than taken from a library because
// nothing else does compare-and-swap against a three-way plan; the file
// access goes through sync/rootfs, so no path in the plan can lead out of
// the local folder.
package client
