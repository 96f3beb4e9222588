// Package provision is the install pipeline and the unlock-at-boot flow of
// the data disk.
//
// Install is a plan, then steps, then events, in the style of ignition's
// stages: NewPlan is a pure function of the Options, the guard's verdict on
// the chosen disk (disk.Disk) and what an earlier run left (the Config and
// the install State); it decides which steps run and refuses what must not
// happen (an ineligible disk, reformatting an installed volume without a new
// confirmation). Installer.Apply then runs the steps — guard, wipe,
// partition, LUKS2 format, open, mkfs, mount, configure, hand-off — and
// reports each through Event values (started, progress, done, failed) that a
// terminal UI, plain lines or JSON lines present.
//
// Every OS edge is a field of System: the directories (/etc, /dev, /sys,
// /run), the command runner (mke2fs, dumpe2fs, e2fsck, systemctl) and the
// device-mapper control, so tests point them at temporary directories and
// fakes. Passphrases are byte slices the caller owns; they are never logged
// and the pipeline zeroes its own copies (volume keys) after use.
//
// Unlock reads the configuration, finds the volume by its LUKS UUID, opens
// it with a passphrase, key file or recovery key, checks (e2fsck -p) and
// mounts the filesystem and hands off to the server. Lock unmounts and closes.
//
// The package may import luks, disk and internal packages only.
package provision
