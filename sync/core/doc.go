// Package core will hold scanning, tree snapshots, the pure three-way
// reconcile and conflict naming. It runs over any io.ReadWriteCloser and
// imports nothing else from the project.
package core
