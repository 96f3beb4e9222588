// Package tui will hold the bubbletea screens of the installer, the unlock
// prompt and the busy-device helper. It consumes provision's and disk's
// exported events and small interfaces and makes no OS calls itself.
package tui
