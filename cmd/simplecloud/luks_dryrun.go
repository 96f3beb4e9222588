package main

import (
	"fmt"

	"simplecloud/disk"
	"simplecloud/luks"
)

// dryRunUsage is the help text of every luks command's --dry-run.
const dryRunUsage = "run the checks, print what would be written and write nothing"

// printLuksChange prints what a luks command would write to path, in the
// order it would write it.
func printLuksChange(a *app, path string, c luks.Change) error {
	w := a.stdout
	fmt.Fprintf(w, "dry run: luks %s %s would %s\n", c.Op, path, c.Summary)
	for _, wr := range c.Writes {
		fmt.Fprintf(w, "  write bytes %d-%d (%s): %s\n", wr.Offset, wr.End()-1, disk.Size(wr.Size), wr.What)
	}
	for _, n := range c.Notes {
		fmt.Fprintf(w, "  note: %s\n", n)
	}
	_, err := fmt.Fprintln(w, "Nothing was written.")
	return err
}

// luksCheckKeyFile reads a key file the way the real command would, so that
// a dry run refuses a missing, empty or oversized one; the key is cleared.
func luksCheckKeyFile(a *app, path string) error {
	if path == "" {
		return nil
	}
	b, err := luksReadKeyFile(a, path)
	clear(b)
	return err
}
