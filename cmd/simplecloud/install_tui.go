package main

import (
	"errors"

	"github.com/spf13/cobra"
)

func runInstallTUI(cmd *cobra.Command, a *app, f *installFlags) error {
	return usageError{errors.New("the interactive installer is not built yet: give --disk")}
}
