// Package dm will hold a small device-mapper ioctl layer (create, load,
// resume, info, deps, remove and deferred remove of crypt targets) on
// golang.org/x/sys/unix, without libdevmapper or cgo.
package dm
