// Package client will hold the sync client daemon and the `simplecloud mount`
// helper. It imports sync/core and sync/proto.
package client
