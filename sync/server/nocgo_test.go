//go:build !cgo

package server

// cgoBuild reports that this test binary uses cgo, where
// syscall.AllThreadsSyscall is refused and confine reaches one thread.
const cgoBuild = false
