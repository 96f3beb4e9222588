package main

import (
	"bufio"
	"bytes"
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"simplecloud/internal/cmdrun"
)

// packaging holds nfpm's configuration, the copyright file, lintian's
// overrides and the maintainer scripts; build copies them into the stage directory.
//
//go:embed nfpm.yaml copyright lintian-overrides postinst prerm postrm
var packaging embed.FS

// NFPMVersion is the nfpm release .ci/deps installs (go install
// github.com/goreleaser/nfpm/v2/cmd/nfpm@NFPMVersion).
const NFPMVersion = "v2.48.0"

// build describes one package build.
type build struct {
	Bin      string    // the static binary (make build's bin/simplecloud)
	Describe string    // git describe of the source, for the version and changelog
	Date     time.Time // commit time: the changelog's date and every file's mtime
	Version  string    // the Debian version; empty derives it from Describe and Date
	Out      string    // directory the .deb is written to
	NFPM     string    // the nfpm program; empty looks in PATH and GOPATH/bin
}

// run builds the package and returns its path.
func (b build) run(ctx context.Context) (string, error) {
	version := b.Version
	if version == "" {
		v, err := debianVersion(b.Describe, b.Date)
		if err != nil {
			return "", err
		}
		version = v
	}
	nfpm, err := findNFPM(b.NFPM)
	if err != nil {
		return "", err
	}
	stage, err := os.MkdirTemp("", "simplecloud-deb-")
	if err != nil {
		return "", fmt.Errorf("make stage: %w", err)
	}
	defer os.RemoveAll(stage)
	if err := b.stage(ctx, stage, version); err != nil {
		return "", err
	}
	out, err := filepath.Abs(filepath.Join(b.Out, "simplecloud_"+version+"_amd64.deb"))
	if err != nil {
		return "", err
	}
	env := []string{"DEB_VERSION=" + version, "SOURCE_DATE_EPOCH=" + epoch(b.Date)}
	c := cmdrun.Cmd{Name: nfpm, Args: []string{"package", "--config", "nfpm.yaml", "--packager", "deb", "--target", out}, Dir: stage, Env: env}
	if err := c.Run(ctx); err != nil {
		return "", fmt.Errorf("build package: %w", err)
	}
	return out, nil
}

// stage fills dir with what nfpm.yaml names: the binary, simplecloud dist's
// files, the changelog, the copyright file and the maintainer scripts.
func (b build) stage(ctx context.Context, dir, version string) error {
	bin, err := os.ReadFile(b.Bin)
	if err != nil {
		return fmt.Errorf("stage: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "simplecloud"), bin, 0o755); err != nil {
		return fmt.Errorf("stage: %w", err)
	}
	dist := cmdrun.Cmd{Name: filepath.Join(dir, "simplecloud"), Args: []string{"dist", "--bin", "/usr/bin/simplecloud", filepath.Join(dir, "dist")},
		Env: []string{"SOURCE_DATE_EPOCH=" + epoch(b.Date)}}
	if err := dist.Run(ctx); err != nil {
		return fmt.Errorf("stage: %w", err)
	}
	entries, err := fs.ReadDir(packaging, ".")
	if err != nil {
		return err
	}
	for _, e := range entries {
		data, err := packaging.ReadFile(e.Name())
		if err != nil {
			return err
		}
		mode := fs.FileMode(0o644)
		if bytes.HasPrefix(data, []byte("#!")) {
			mode = 0o755
		}
		if err := os.WriteFile(filepath.Join(dir, e.Name()), data, mode); err != nil {
			return fmt.Errorf("stage: %w", err)
		}
	}
	cfg, _ := packaging.ReadFile("nfpm.yaml")
	maintainer, err := yamlField(cfg, "maintainer")
	if err != nil {
		return err
	}
	log, err := changelog(version, b.Describe, maintainer, b.Date)
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "changelog.gz"), log, 0o644)
}

// yamlField returns the value of a top-level "key: value" line of a YAML
// file (the maintainer, written once in nfpm.yaml).
func yamlField(data []byte, key string) (string, error) {
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), key+": "); ok {
			return strings.TrimSpace(v), nil
		}
	}
	return "", fmt.Errorf("nfpm.yaml has no %s", key)
}

func epoch(t time.Time) string { return strconv.FormatInt(t.Unix(), 10) }

// findNFPM returns the nfpm program: path when set, else nfpm in PATH or in
// GOPATH/bin, where go install puts it.
func findNFPM(path string) (string, error) {
	if path != "" {
		return path, nil
	}
	if p, err := exec.LookPath("nfpm"); err == nil {
		return p, nil
	}
	if out, err := exec.Command("go", "env", "GOPATH").Output(); err == nil {
		p := filepath.Join(strings.TrimSpace(string(out)), "bin", "nfpm")
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	return "", errors.New("find nfpm: not in PATH or GOPATH/bin; install it with make deps, or go install github.com/goreleaser/nfpm/v2/cmd/nfpm@" + NFPMVersion)
}
