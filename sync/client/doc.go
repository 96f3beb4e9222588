// Package client is the sync client: it keeps a local folder and a folder
// on a SimpleCloud server in step both ways (RunOnce once, Watch for as
// long as it runs), and holds the stream side of `simplecloud mount`
// (SSHFSArgs builds the sshfs command line).
//
// A run scans the local folder (sync/scan, with the protocol's file hash
// cached in extended attributes) while it lists the server's (Remote,
// which sync/client/remote's Client implements over the user's own ssh;
// RunOnceDialing connects while the state is read and the scan begins),
// reconciles both with the ancestor, the last state both sides agreed on
// (sync/core, pure), refuses what looks like an accident rather than a
// wish (a missing local folder, one on another file system than last
// time, an empty side, too many deletes), then carries out the plan phase
// by phase on both sides at once, many actions in flight, every one of
// them compare-and-swap: locally by a fresh stat (and hash) of the path
// against the plan's Old right before the change, on the server by the
// Expect every change request carries. A path that changed meanwhile is
// left for the next run, never overwritten; what the sync overwrites or
// deletes locally is kept in the folder's .simplecloud/versions, as the
// server keeps its own. What succeeded is applied to the snapshots
// (core.Actions.Apply), the touched directories are fsynced, and the result is
// settled into the new ancestor (core.Settle), saved atomically in a
// compact, checksummed state file (see state), beside which a scan index
// (sync/scan.Index) spares the next run's scan its attribute reads. Paths
// whose content could not be known this run are held out of it on both
// sides (see held). A first sync (no ancestor) reads only the files the
// plan compares before planning and sends the others unhashed, recording
// the hash the server answers (see lazy.go).
//
// An encrypted (zero-knowledge) folder, Options.Key, runs the same engine
// on plaintext paths through a Remote that seals names and contents with
// sync/seal before they leave and opens them on the way back (see
// sealed.go); the server stores only ciphertext and the folder's key
// marker, which is checked before anything else.
//
// The executors are written here rather than taken from a library because
// nothing else does compare-and-swap against a three-way plan; local file
// access goes through a strict sync/rootfs root, so no path in a plan can
// lead out of the folder or through a symbolic link.
package client
