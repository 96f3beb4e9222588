// Package holders finds everything that keeps a block device busy and stops
// it in order so the device can be closed.
//
// A Scanner reads /proc and /sys (their roots are fields, so tests run on
// fake trees) and returns a Report: the device and every device stacked on
// it (sysfs holders, recursively, and loop devices backed by a file on it);
// the processes with an open file, a cwd, root, exe or memory map on any of
// them; their mounts in every mount namespace; swap areas on them.
//
// Deciding whether a process's file lies on the device is done from the
// text of /proc/PID/fd/N and the mount table of the process's mount
// namespace wherever that is certain, and by statx (AT_STATX_DONT_SYNC, with
// a deadline per call) where it is not: for a process chrooted away from its
// namespace's root, in a namespace where one of the device's mounts is
// hidden under another, for paths below /dev (device nodes), and when no
// mount of the device exists at all (a lazily detached filesystem). Files
// on network and FUSE mounts are never stat'ed, so a hung server cannot hang
// the scan. Memory maps carry their device number in /proc/PID/maps.
//
// Plan turns a Report into ordered steps (stop processes, unmount in every
// namespace, swapoff, detach loops, close stacked devices top-down, close
// the mapping); it is a pure function. Apply carries a plan out through the
// small interfaces in apply.go; every signal goes through a pidfd.
package holders
