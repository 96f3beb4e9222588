// Package proto will hold the versioned, documented sync wire protocol. It
// imports nothing else from the project.
package proto
