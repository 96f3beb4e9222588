// Package holders will find everything that keeps a block device busy
// (processes, mounts in every namespace, swap, loop devices, stacked
// device-mapper and md devices) and stop them in order so the device can be
// closed.
package holders
