// Package remote is the client's side of the sync protocol (sync/proto,
// PROTOCOL.md): one connection to a server's simplecloud-sync subsystem,
// carried by the user's own ssh (Start, SSHArgv), with many requests in
// flight at once (bounded by the server's max_inflight), so a client
// pipelines thousands of small files instead of paying a round trip for
// each. It adds the transfers the protocol composes from its requests:
// Download and Upload, each a delta against what the other side already
// holds (chunk lists compared by id), with resume for uploads.
package remote
