// Package disk finds the machine's disks and decides which of them may
// become the data disk, and why the others may not.
//
// Discovery goes through ghw for the list of block devices, sizes, models
// and serials, and reads the rest itself, because ghw does not report it
// and udev may not run: sysfs holders (device-mapper, md and loop stacks),
// the mount table of every mount namespace, /proc/swaps, and the
// superblock signatures on each disk and partition (Probe). The kernel
// interfaces are fields of Host, so a fixture tree stands in for a machine.
//
// The guard is pure: from the facts discovery gathered, every disk gets
// every reason it is ineligible (mounted, swap, part of the running system,
// under a holder stack, busy on an exclusive open, removable, carrying a
// signature); Decide applies a Policy that may lift the last two. Disks are
// named by a stable by-id name, never by their kernel name alone.
//
// The package imports nothing else from the project.
package disk
