// Package provision will hold the install pipeline: a plan built from the
// chosen disk and options, a sequence of steps (guard, wipe, partition, LUKS2
// format, open, mkfs, mount, config) that emit progress events, the
// unlock-at-boot flow and the TOML configuration file. It may import luks,
// disk and internal packages only.
package provision
