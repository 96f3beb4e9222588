package main

import (
	"crypto/rand"
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/spf13/cobra"

	"simplecloud/internal/prompt"
	"simplecloud/sync/seal"
	"simplecloud/sync/seal/keystore"
	"simplecloud/tui"
)

// keyTries is how often key import asks again at a terminal after a typo.
const keyTries = 3

func newKeyCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "key",
		Short: "Make, export and import the keys of encrypted folders",
		Long: `A folder key encrypts a zero-knowledge folder: the server stores only ciphertext.
Keys live in $XDG_CONFIG_HOME/simplecloud/keys (~/.config/simplecloud/keys),
one file per key, named by the key's id. Without the key the folder cannot be
read by anyone: export it to a file, or write down its typeable form, and keep
the copy safe. A second client joins with key import.`,
	}
	cmd.AddCommand(newKeyNewCmd(a), newKeyListCmd(a), newKeyExportCmd(a), newKeyImportCmd(a))
	return cmd
}

// keyStore returns the store in the user's configuration directory.
func keyStore() (keystore.Store, error) {
	dir, err := keystore.DefaultDir(os.Getenv)
	return keystore.Store{Dir: dir}, err
}

func newKeyNewCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "new",
		Short: "Make a new folder key and print its id",
		Args:  usageArgs(cobra.NoArgs),
		RunE: func(*cobra.Command, []string) error {
			s, err := keyStore()
			if err != nil {
				return err
			}
			k, err := seal.Generate(rand.Reader)
			if err != nil {
				return err
			}
			path, _, err := s.Save(k)
			if err != nil {
				return err
			}
			a.log.Debug("created folder key", "id", k.ID(), "path", path)
			fmt.Fprintln(a.stdout, k.ID())
			fmt.Fprintf(a.stderr, "Created key %s in %s.\nExport a copy now (simplecloud key export %s) and keep it safe:\nwithout the key, nobody can read the folder.\n", k.ID(), path, k.ID())
			return nil
		},
	}
}

func newKeyListCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: "List the ids of the stored keys",
		Args:  usageArgs(cobra.NoArgs),
		RunE: func(*cobra.Command, []string) error {
			s, err := keyStore()
			if err != nil {
				return err
			}
			ids, err := s.List()
			for _, id := range ids {
				fmt.Fprintln(a.stdout, id)
			}
			return err
		},
	}
}

func newKeyExportCmd(a *app) *cobra.Command {
	var output string
	var qr bool
	cmd := &cobra.Command{
		Use:   "export ID",
		Short: "Export a key to a file, or print its typeable form (and a QR code)",
		Long: `Export a key: with --output to a new file (mode 0600), else its typeable form
on standard output: 15 groups of 4 characters with a checksum, for paper or a
safe. --qr also draws it as a QR code. Anyone with the export can read the folder.`,
		Args: usageArgs(cobra.ExactArgs(1)),
		RunE: func(_ *cobra.Command, args []string) error {
			s, err := keyStore()
			if err != nil {
				return err
			}
			k, err := s.Load(args[0])
			if err != nil {
				return err
			}
			if output != "" {
				if _, err := os.Lstat(output); !errors.Is(err, fs.ErrNotExist) {
					return fmt.Errorf("export key: %s exists: choose a new file", output)
				}
				if err := keystore.WriteFile(output, k.File()); err != nil {
					return fmt.Errorf("export key: %w", err)
				}
				fmt.Fprintf(a.stderr, "Wrote key %s to %s.\n", k.ID(), output)
			} else {
				a.stdout.Write(k.File())
			}
			if qr {
				code, err := tui.QRCode(k.Text(), tui.QRMedium, 2)
				if err != nil {
					return err
				}
				fmt.Fprint(a.stdout, code)
			}
			return nil
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", "", "write the key to this new file")
	cmd.Flags().BoolVar(&qr, "qr", false, "also draw the typeable form as a QR code")
	return cmd
}

func newKeyImportCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "import [FILE|-]",
		Short: "Import a key from a file, standard input, or typed at the terminal",
		Long: `Import a key exported by key export: from FILE, or from standard input (a key
file or its typeable form). At a terminal, type the 15 groups (dashes and case
do not matter); a typo is caught by the checksum and you are asked again.`,
		Args: usageArgs(cobra.MaximumNArgs(1)),
		RunE: func(_ *cobra.Command, args []string) error {
			s, err := keyStore()
			if err != nil {
				return err
			}
			k, err := a.readKey(args)
			if err != nil {
				return fmt.Errorf("import key: %w", err)
			}
			path, existed, err := s.Save(k)
			if err != nil {
				return err
			}
			if existed {
				fmt.Fprintf(a.stderr, "Key %s is already in %s.\n", k.ID(), path)
			} else {
				fmt.Fprintf(a.stderr, "Imported key %s into %s.\n", k.ID(), path)
			}
			fmt.Fprintln(a.stdout, k.ID())
			return nil
		},
	}
}

// readKey reads the key to import: from the named file, from standard
// input, or typed at the terminal, asking again after a typo.
func (a *app) readKey(args []string) (*seal.Key, error) {
	if len(args) == 1 && args[0] != "-" {
		f, err := os.Open(args[0])
		if err != nil {
			return nil, err
		}
		defer f.Close()
		return keystore.ReadKey(f)
	}
	if !prompt.IsTerminal(a.stdin) {
		return keystore.ReadKey(a.stdin)
	}
	for i := 1; ; i++ {
		fmt.Fprint(a.stderr, "Type the key (15 groups of 4 characters), then Enter: ")
		line, err := prompt.ReadLine(a.stdin)
		if err != nil {
			return nil, err
		}
		k, err := seal.ParseText(string(line))
		if err == nil || i == keyTries || !errors.Is(err, seal.ErrKeyText) {
			return k, err
		}
		fmt.Fprintf(a.stderr, "%v. Try again.\n", err)
	}
}
