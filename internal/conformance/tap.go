package conformance

import (
	"bufio"
	"fmt"
	"io"
	"path"
	"regexp"
	"strconv"
	"strings"
)

// Result is the outcome of one case.
type Result struct {
	Pass   bool
	Status string // "pass", "fail", "skip", "not run", ... as the suite puts it
	Detail string // why it failed, as the suite says it (the TAP line, the assertion)
}

// Results maps case IDs to outcomes. A pjdfstest case's ID is its file below
// tests/ and its number ("chmod/00.t 12"); an sshfs test's is pytest's test
// name ("test_sshfs[multiconn=true-...]").
type Results map[string]Result

var (
	// proveHeader is the line `prove -v` starts each test file with:
	// its path, a run of dots, and sometimes the file's first TAP line.
	proveHeader = regexp.MustCompile(`^(\S+\.t) \.+ ?(.*)$`)
	tapPlan     = regexp.MustCompile(`^1\.\.(\d+)`)
	tapLine     = regexp.MustCompile(`^(not )?ok (\d+)\b ?(.*)$`)
)

// ParseProve reads the output of `prove -v -r DIR/tests` (standard output
// only) and returns a Result for every planned case of every test file. A
// case passes as prove counts it: "ok" (skips included) or a failure marked
// TODO, which the suite expects on this system. Cases a file planned but
// never reported (it died, or was killed) are failures with Status "not
// run". File paths are given relative to the last "tests" directory in
// them, so that runs from different copies of the suite compare equal.
func ParseProve(r io.Reader) (Results, error) {
	res := Results{}
	var file string
	planned := map[string]int{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if m := proveHeader.FindStringSubmatch(line); m != nil {
			file = testsRel(m[1])
			line = m[2]
		}
		if file == "" {
			continue
		}
		if m := tapPlan.FindStringSubmatch(line); m != nil {
			n, err := strconv.Atoi(m[1])
			if err != nil {
				return nil, fmt.Errorf("parse prove output: plan %q: %w", line, err)
			}
			planned[file] = n
			continue
		}
		m := tapLine.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		desc := m[3]
		pass := m[1] == "" || directive(desc, "TODO")
		status := "pass"
		switch {
		case directive(desc, "SKIP"):
			status = "skip"
		case m[1] != "" && pass:
			status = "todo"
		case m[1] != "":
			status = "fail"
		}
		res[file+" "+m[2]] = Result{Pass: pass, Status: status, Detail: strings.TrimPrefix(desc, "- ")}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("parse prove output: %w", err)
	}
	for file, n := range planned {
		for i := 1; i <= n; i++ {
			id := file + " " + strconv.Itoa(i)
			if _, ok := res[id]; !ok {
				res[id] = Result{Status: "not run", Detail: "planned, never reported"}
			}
		}
	}
	return res, nil
}

// directive reports whether a TAP description carries the directive d
// ("# TODO ...", "# SKIP ...").
func directive(desc, d string) bool {
	_, after, ok := strings.Cut(desc, "#")
	return ok && strings.HasPrefix(strings.ToUpper(strings.TrimSpace(after)), d)
}

// testsRel returns p relative to its last "tests" element ("chmod/00.t").
func testsRel(p string) string {
	p = path.Clean(p)
	if i := strings.LastIndex(p, "/tests/"); i >= 0 {
		return p[i+len("/tests/"):]
	}
	return strings.TrimPrefix(p, "tests/")
}

// PjdfstestGroup returns the group a pjdfstest case is counted in: its
// directory below tests/, which is the system call it tests ("chmod").
func PjdfstestGroup(id string) string {
	file, _, _ := strings.Cut(id, " ")
	if dir := path.Dir(file); dir != "." {
		return dir
	}
	return file
}
