// Command simplecloud is the SimpleCloud appliance toolkit: installer,
// encrypted data disk, unlock at boot, busy-device helper and SSH server.
package main

import (
	"os"

	"earlyterm"
)

func main() {
	earlyterm.Restore()
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}
