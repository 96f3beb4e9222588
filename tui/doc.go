// Package tui holds the bubbletea screens of the installer: the disk list
// (eligible disks first, excluded ones greyed with their reasons), the disk's
// details, the typed confirmation of its by-id name, the wipe mode with a time
// estimate, the passphrase asked twice with strength feedback, the optional
// recovery key shown once with a QR code, the progress of the install and a
// summary.
//
// The screens work at 80x24 and on a serial console, with the keyboard only.
// Esc or Ctrl-C before the install starts cancels without writing anything.
//
// The package makes no OS calls. It consumes disk.Disk values and
// provision's plans and events, and reaches the machine only through the
// Backend interface that cmd/simplecloud implements.
package tui
