package main

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"regexp"
	"strings"
	"time"
)

var (
	// untagged is what git describe --always prints with no tag to
	// describe from: an abbreviated commit, maybe marked dirty.
	untagged = regexp.MustCompile(`^([0-9a-f]{7,40})(-dirty)?$`)
	// tagged is "TAG", "TAG-N-gHASH", either maybe marked dirty.
	tagged = regexp.MustCompile(`^v?([0-9][A-Za-z0-9.+~-]*?)(?:-([0-9]+)-(g[0-9a-f]+))?(-dirty)?$`)
)

// debianVersion turns git describe's output into a Debian version that sorts
// as the commits do: "v1.2.3" is 1.2.3, "v1.2.3-4-gabc1234" is
// 1.2.3+4.gabc1234 (after 1.2.3, before 1.2.4), and an untagged commit is
// 0~gitYYYYMMDDhhmmss.abc1234, ordered by its commit time and before any
// tag. A dash in a tag becomes "~" (1.0~rc1 sorts before 1.0); "-dirty"
// becomes ".dirty". It is a native version (no Debian
// revision): the package is built from this repository alone.
func debianVersion(describe string, commit time.Time) (string, error) {
	if m := untagged.FindStringSubmatch(describe); m != nil {
		v := "0~git" + commit.UTC().Format("20060102150405") + "." + m[1]
		if m[2] != "" {
			v += ".dirty"
		}
		return v, nil
	}
	m := tagged.FindStringSubmatch(describe)
	if m == nil {
		return "", fmt.Errorf("debian version of %q: want git describe's TAG[-N-gHASH][-dirty] or a commit", describe)
	}
	v := strings.ReplaceAll(m[1], "-", "~") // v1.0-rc1 comes before 1.0
	if m[2] != "" {
		v += "+" + m[2] + "." + m[3]
	}
	if m[4] != "" {
		if strings.Contains(v, "+") {
			v += ".dirty"
		} else {
			v += "+dirty"
		}
	}
	return v, nil
}

// changelog returns the package's changelog, gzipped as Debian wants it
// (maximum compression, no name or time in the header): one entry for the
// build, dated by the commit.
func changelog(version, describe, maintainer string, date time.Time) ([]byte, error) {
	text := fmt.Sprintf("simplecloud (%s) unstable; urgency=medium\n\n  * Built from %s.\n\n -- %s  %s\n",
		version, describe, maintainer, date.UTC().Format("Mon, 02 Jan 2006 15:04:05 -0700"))
	var b bytes.Buffer
	w, err := gzip.NewWriterLevel(&b, gzip.BestCompression)
	if err != nil {
		return nil, err
	}
	if _, err := w.Write([]byte(text)); err != nil {
		return nil, fmt.Errorf("compress changelog: %w", err)
	}
	if err := w.Close(); err != nil {
		return nil, fmt.Errorf("compress changelog: %w", err)
	}
	return b.Bytes(), nil
}
