package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"simplecloud/sync/client"
	"simplecloud/sync/client/remote"
	"simplecloud/sync/proto"
)

// versionJSON is one version as --json prints it.
type versionJSON struct {
	N     int       `json:"n"`
	ID    string    `json:"id"`
	Path  string    `json:"path"`
	Kept  time.Time `json:"kept"`
	Size  uint64    `json:"size"`
	Mtime time.Time `json:"mtime"`
}

func newVersionsCmd(a *app) *cobra.Command {
	var f syncFlags
	cmd := &cobra.Command{
		Use:   "versions [USER@]HOST:PATH",
		Short: "List the versions a server keeps of a file (or of everything in a folder)",
		Args:  usageArgs(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			t, err := remote.ParseTarget(args[0])
			if err != nil {
				return usageError{err}
			}
			rc, err := client.Connect(cmd.Context(), t, f.ssh, "simplecloud/"+version, os.Stderr)
			if err != nil {
				return fmt.Errorf("versions: %w", err)
			}
			defer rc.Close()
			vs, err := rc.Versions(cmd.Context(), t.Path)
			if err != nil {
				return fmt.Errorf("versions: %w", err)
			}
			// Numbered newest first: --version 1 is the last one kept.
			out := make([]versionJSON, len(vs))
			for i, v := range vs {
				out[len(vs)-1-i] = versionJSON{N: len(vs) - i, ID: v.ID, Path: v.Entry.Path, Kept: time.Unix(0, v.Kept).UTC(),
					Size: v.Entry.Size, Mtime: time.Unix(0, v.Entry.Mtime).UTC()}
			}
			if f.json {
				return json.NewEncoder(a.stdout).Encode(out)
			}
			if len(out) == 0 {
				fmt.Fprintf(a.stdout, "no versions of %s\n", t)
				return nil
			}
			w := tabwriter.NewWriter(a.stdout, 0, 0, 2, ' ', 0)
			fmt.Fprintln(w, "N\tKEPT\tSIZE\tPATH")
			for _, v := range out {
				fmt.Fprintf(w, "%d\t%s\t%d\t%s\n", v.N, v.Kept.Local().Format("2006-01-02 15:04:05"), v.Size, v.Path)
			}
			return w.Flush()
		},
	}
	f.add(cmd)
	return cmd
}

func newRestoreCmd(a *app) *cobra.Command {
	var f syncFlags
	var n int
	var before string
	cmd := &cobra.Command{
		Use:   "restore [USER@]HOST:PATH",
		Short: "Bring back a version of a file on the server (what it holds now is kept as a version)",
		Args:  usageArgs(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			t, err := remote.ParseTarget(args[0])
			if err != nil {
				return usageError{err}
			}
			var limit time.Time
			if before != "" {
				if limit, err = parseWhen(before); err != nil {
					return usageError{fmt.Errorf("--before %q: %w", before, err)}
				}
			}
			rc, err := client.Connect(cmd.Context(), t, f.ssh, "simplecloud/"+version, os.Stderr)
			if err != nil {
				return fmt.Errorf("restore: %w", err)
			}
			defer rc.Close()
			vs, err := rc.Versions(cmd.Context(), t.Path)
			if err != nil {
				return fmt.Errorf("restore: %w", err)
			}
			var pick *proto.Version
			for i := len(vs) - 1; i >= 0; i-- { // newest first
				v := &vs[i]
				if v.Entry.Path != t.Path {
					continue
				}
				if (n > 0 && len(vs)-i == n) || (n == 0 && (limit.IsZero() || time.Unix(0, v.Kept).Before(limit))) {
					pick = v
					break
				}
			}
			if pick == nil {
				return errors.New("restore: no such version (see simplecloud versions)")
			}
			cur, err := rc.Stat(cmd.Context(), []string{t.Path}, proto.HashesAll)
			if err != nil {
				return fmt.Errorf("restore: %w", err)
			}
			x := proto.Expect{Kind: cur[0].Kind, Hash: cur[0].Hash, Target: cur[0].Target}
			if _, err := rc.Restore(cmd.Context(), t.Path, pick.ID, "", x); err != nil {
				return fmt.Errorf("restore: %w", err)
			}
			fmt.Fprintf(a.stdout, "restored %s as kept at %s\n", t, time.Unix(0, pick.Kept).Local().Format("2006-01-02 15:04:05"))
			return nil
		},
	}
	f.add(cmd)
	cmd.Flags().IntVar(&n, "version", 0, "the version to restore, as simplecloud versions numbers them (1: the newest)")
	cmd.Flags().StringVar(&before, "before", "", "restore the newest version kept before this time (RFC 3339, or YYYY-MM-DD HH:MM)")
	return cmd
}

// parseWhen reads a time as RFC 3339 or a local "YYYY-MM-DD[ HH:MM[:SS]]".
func parseWhen(s string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	for _, layout := range []string{"2006-01-02 15:04:05", "2006-01-02 15:04", "2006-01-02"} {
		if t, err := time.ParseInLocation(layout, s, time.Local); err == nil {
			return t, nil
		}
	}
	return time.Time{}, errors.New("want RFC 3339 or YYYY-MM-DD HH:MM")
}
