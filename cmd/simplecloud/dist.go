package main

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/cobra/doc"

	"simplecloud/provision"
	"simplecloud/sync/server"
)

// newDistCmd is the hidden command that writes the files a distribution
// package ships beside the binary, each made from its one source: the
// systemd units from provision.Units, the configuration file from the
// server's documented key list, and the man pages and shell completions
// from this command tree.
func newDistCmd(a *app) *cobra.Command {
	var bin string
	cmd := &cobra.Command{
		Use:   "dist DIR",
		Short: "Write the files a package ships (units, configuration, man pages, completions)",
		Long: `dist writes into DIR the files a distribution package ships beside the
binary (images/deb puts them in the Debian package):

  simplecloud.toml          the configuration file, every key commented out
  units/*.service, *.timer  the systemd units, for the binary at --bin
  man/*.1.gz                a man page for every command
  completion/bash/simplecloud, completion/zsh/_simplecloud,
  completion/fish/simplecloud.fish

The man pages are dated SOURCE_DATE_EPOCH when it is set.`,
		Hidden: true,
		Args:   usageArgs(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			files, err := distFiles(cmd.Root(), bin)
			if err != nil {
				return err
			}
			names := make([]string, 0, len(files))
			for name := range files {
				names = append(names, name)
			}
			slices.Sort(names)
			for _, name := range names {
				p := filepath.Join(args[0], name)
				if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
					return fmt.Errorf("dist: %w", err)
				}
				if err := os.WriteFile(p, files[name], 0o644); err != nil {
					return fmt.Errorf("dist: %w", err)
				}
			}
			a.log.Info("wrote the package files", "dir", args[0], "files", len(files))
			return nil
		},
	}
	cmd.Flags().StringVar(&bin, "bin", "/usr/bin/simplecloud", "path of the installed binary, for the units")
	return cmd
}

// distFiles returns dist's files by their path below DIR.
func distFiles(root *cobra.Command, bin string) (map[string][]byte, error) {
	files := map[string][]byte{"simplecloud.toml": []byte(shippedConfig())}
	c := &provision.Config{Volume: provision.VolumeConfig{Mount: provision.DefaultMount}}
	for name, text := range provision.Units(bin, defaultConfig, c) {
		files["units/"+name] = []byte(text)
	}
	for name, text := range provision.ReplicaUnits(bin, defaultConfig) {
		files["units/"+name] = []byte(text)
	}
	root.InitDefaultHelpCmd()
	root.InitDefaultCompletionCmd()
	if err := manPages(root, files); err != nil {
		return nil, err
	}
	var bash, zsh, fish bytes.Buffer
	if err := root.GenBashCompletionV2(&bash, true); err != nil {
		return nil, fmt.Errorf("bash completion: %w", err)
	}
	if err := root.GenZshCompletion(&zsh); err != nil {
		return nil, fmt.Errorf("zsh completion: %w", err)
	}
	if err := root.GenFishCompletion(&fish, true); err != nil {
		return nil, fmt.Errorf("fish completion: %w", err)
	}
	files["completion/bash/simplecloud"] = bash.Bytes()
	files["completion/zsh/_simplecloud"] = zsh.Bytes()
	files["completion/fish/simplecloud.fish"] = fish.Bytes()
	return files, nil
}

// manPages adds a gzipped man page (section 1) for cmd and every available
// command below it to files, as man/simplecloud-SUB.1.gz.
func manPages(cmd *cobra.Command, files map[string][]byte) error {
	if !cmd.IsAvailableCommand() && cmd.HasParent() {
		return nil
	}
	for _, sub := range cmd.Commands() {
		if err := manPages(sub, files); err != nil {
			return err
		}
	}
	var page bytes.Buffer
	h := &doc.GenManHeader{Section: "1", Source: "simplecloud " + version, Manual: "SimpleCloud"}
	if err := doc.GenMan(cmd, h, &page); err != nil {
		return fmt.Errorf("man page of %s: %w", cmd.CommandPath(), err)
	}
	var gz bytes.Buffer
	// Maximum compression and no name or time in the header, as Debian
	// wants man pages (and a rebuild gives the same bytes).
	w, err := gzip.NewWriterLevel(&gz, gzip.BestCompression)
	if err != nil {
		return err
	}
	if _, err := w.Write(page.Bytes()); err != nil {
		return fmt.Errorf("compress man page: %w", err)
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("compress man page: %w", err)
	}
	files["man/"+strings.ReplaceAll(cmd.CommandPath(), " ", "-")+".1.gz"] = gz.Bytes()
	return nil
}

// shippedConfig is the configuration file as a package ships it: it sets
// nothing, so that LoadConfig finds no volume (nothing is installed) and the
// server runs on its defaults, and it shows every key.
func shippedConfig() string {
	return fmt.Sprintf(`# SimpleCloud's configuration file, %[1]s.
#
# As shipped it sets nothing: every key is commented out and shows its
# default or an example. simplecloud install replaces this file with the
# data volume's settings ([volume], [unlock] and the [server] listen
# address); keys added to [server] afterwards are read by simplecloud serve.
# This file as shipped: /usr/share/doc/simplecloud/examples/simplecloud.toml.
#
# [volume] is written by simplecloud install: the LUKS UUID the data volume
# is found by on any disk, its device-mapper name and its mount point.
#
# [unlock]
# tries = %[2]d         # passphrases asked for at boot (0: no limit)
# timeout = "0s"    # how long to wait for them (0: for ever)
# admin_group = "%[4]s"  # its members may unlock over SSH: ssh -p 2222 HOST unlock
#
%[3]s`, defaultConfig, provision.DefaultTries, server.SampleConfig(), provision.DefaultAdminGroup)
}
