package conformance

import (
	"encoding/xml"
	"fmt"
	"io"
	"regexp"
	"strings"
)

// junitCase is the part of a junit <testcase> element that ParseJUnit reads.
type junitCase struct {
	Name    string        `xml:"name,attr"`
	Failure *junitOutcome `xml:"failure"`
	Error   *junitOutcome `xml:"error"`
	Skipped *junitOutcome `xml:"skipped"`
}

type junitOutcome struct {
	Message string `xml:"message,attr"`
	Text    string `xml:",chardata"` // the traceback
}

// pyFrame matches a frame line of a Python traceback.
var pyFrame = regexp.MustCompile(`, line \d+, in (\w+)`)

// detail is what a failure shows: its message's first line, after the
// innermost frame of the test file's helpers ("tst_symlink") when the
// traceback has one, since sshfs's test_sshfs runs some thirty steps.
func (o *junitOutcome) detail() string {
	msg := firstLine(o.Message)
	frames := pyFrame.FindAllStringSubmatch(o.Text, -1)
	for i := len(frames) - 1; i >= 0; i-- {
		if f := frames[i][1]; strings.HasPrefix(f, "tst_") {
			return "in " + f + ": " + msg
		}
	}
	return msg
}

// ParseJUnit reads pytest's junit XML (--junitxml) and returns a Result per
// test case, keyed by the test's name with its parameters
// ("test_sshfs[multiconn=true-...]"). A case passes when it has neither a
// failure, an error nor a skip; a skipped case does not pass (a test that
// skips where the reference runs it has not shown what it tests). An error
// in a fixture's teardown after a pass counts as a failure, as pytest
// counts it.
func ParseJUnit(r io.Reader) (Results, error) {
	res := Results{}
	d := xml.NewDecoder(r)
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("parse junit xml: %w", err)
		}
		se, ok := tok.(xml.StartElement)
		if !ok || se.Name.Local != "testcase" {
			continue
		}
		var c junitCase
		if err := d.DecodeElement(&c, &se); err != nil {
			return nil, fmt.Errorf("parse junit xml: testcase: %w", err)
		}
		r := Result{Pass: true, Status: "pass"}
		switch {
		case c.Failure != nil:
			r = Result{Status: "fail", Detail: c.Failure.detail()}
		case c.Error != nil:
			r = Result{Status: "error", Detail: c.Error.detail()}
		case c.Skipped != nil:
			r = Result{Status: "skip", Detail: firstLine(c.Skipped.Message)}
		}
		if prev, ok := res[c.Name]; ok && !prev.Pass {
			continue // pytest reports a teardown error as a second testcase
		}
		res[c.Name] = r
	}
	return res, nil
}

// firstLine returns the first non-empty line of s, trimmed.
func firstLine(s string) string {
	for _, l := range strings.Split(s, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			return l
		}
	}
	return ""
}
