// Command deb builds SimpleCloud's Debian package (make deb):
// simplecloud_VERSION_amd64.deb with the static binary, the systemd units, a
// commented configuration file (a conffile), man pages, shell completions,
// the copyright file and a changelog.
//
// The files besides the binary come from the binary itself (the hidden
// simplecloud dist command), so each is made from its one source. nfpm
// (github.com/goreleaser/nfpm, installed by .ci/deps with go install)
// writes the package from nfpm.yaml; it is run as a program rather than
// imported because as a library it would add some 45 modules to go.mod and
// move six that the product binary uses (pflag, go-runewidth, ...).
//
// The version is git describe's, made a Debian version (debianVersion);
// SOURCE_DATE_EPOCH is the commit time, so the same commit gives the same
// package.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"time"
)

func main() {
	var (
		b    build
		date int64
	)
	flag.StringVar(&b.Bin, "bin", "bin/simplecloud", "the static binary to package")
	flag.StringVar(&b.Describe, "describe", "", "git describe of the source (required)")
	flag.Int64Var(&date, "date", 0, "commit time, in seconds since 1970 (required)")
	flag.StringVar(&b.Version, "version", "", "Debian version (default: made from -describe and -date)")
	flag.StringVar(&b.Out, "out", ".", "directory to write the package to")
	flag.StringVar(&b.NFPM, "nfpm", "", "the nfpm program (default: from PATH or GOPATH/bin)")
	flag.Parse()
	if b.Describe == "" || date == 0 || flag.NArg() > 0 {
		fmt.Fprintf(os.Stderr, "usage: go run ./images/deb -describe \"$(git describe)\" -date \"$(git log -1 --format=%%ct)\" [-bin F] [-out DIR]\n")
		os.Exit(64)
	}
	b.Date = time.Unix(date, 0)
	out, err := b.run(context.Background())
	if err != nil {
		fmt.Fprintf(os.Stderr, "deb: %v\n", err)
		os.Exit(1)
	}
	fmt.Println(out)
}
