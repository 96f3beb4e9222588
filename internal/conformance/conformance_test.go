package conformance

import (
	"bytes"
	"reflect"
	"strings"
	"testing"
)

// proveOutput is `prove -v -r` output as prove 3.46 prints it for
// pjdfstest, with the failure and TODO forms the suite uses, a file that
// dies after its first case and one prove prints on its header line.
const proveOutput = `/suite/tests/chmod/00.t .......... 
1..4
ok 1
not ok 2 - tried 'chmod x 0644', expected 0, got EPERM
not ok 3 # TODO Linux: mode bits
ok 4 # SKIP no ACLs
Failed 1/4 subtests 
/suite/tests/chmod/01.t .......... 1..3
ok 1
Failed 2/3 subtests 
/suite/tests/open/00.t ........... 
1..1
ok 1
ok
Test Summary Report
-------------------
/suite/tests/chmod/00.t (Wstat: 0 Tests: 4 Failed: 1)
  Failed test:  2
`

func TestParseProve(t *testing.T) {
	got, err := ParseProve(strings.NewReader(proveOutput))
	if err != nil {
		t.Fatal(err)
	}
	want := Results{
		"chmod/00.t 1": {Pass: true, Status: "pass"},
		"chmod/00.t 2": {Status: "fail", Detail: "tried 'chmod x 0644', expected 0, got EPERM"},
		"chmod/00.t 3": {Pass: true, Status: "todo", Detail: "# TODO Linux: mode bits"},
		"chmod/00.t 4": {Pass: true, Status: "skip", Detail: "# SKIP no ACLs"},
		"chmod/01.t 1": {Pass: true, Status: "pass"},
		"chmod/01.t 2": {Status: "not run", Detail: "planned, never reported"},
		"chmod/01.t 3": {Status: "not run", Detail: "planned, never reported"},
		"open/00.t 1":  {Pass: true, Status: "pass"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %v\nwant %v", got, want)
	}
}

func TestPjdfstestGroup(t *testing.T) {
	for _, c := range []struct{ id, want string }{
		{"chmod/00.t 12", "chmod"},
		{"granular/06.t 1", "granular"},
		{"top.t 1", "top.t"},
	} {
		t.Run(c.id, func(t *testing.T) {
			if got := PjdfstestGroup(c.id); got != c.want {
				t.Errorf("got %q, want %q", got, c.want)
			}
		})
	}
}

// junitOutput is pytest 7's junit XML for a pass, a failure, a skip and a
// test that passed but whose fixture failed in teardown.
const junitOutput = `<?xml version="1.0" encoding="utf-8"?><testsuites><testsuite name="pytest" errors="1" failures="1" skipped="1" tests="5">
<testcase classname="test_sshfs" name="test_sshfs[debug=false]" time="1.2"/>
<testcase classname="test_sshfs" name="test_link" time="0.3"><failure message="AssertionError: assert 1 == 2&#10;more">Traceback (most recent call last):
  File "/t/test_sshfs.py", line 160, in test_sshfs
    tst_link(mnt_dir, cache_timeout)
  File "/t/test_sshfs.py", line 541, in tst_link
    assert fstat1.st_nlink == 1
  File "/usr/lib/python3/dist-packages/_pytest/x.py", line 10, in helper
AssertionError: assert 1 == 2</failure></testcase>
<testcase classname="test_sshfs" name="test_hardlink" time="0.1"><skipped type="pytest.skip" message="server does not support hardlink extension">x</skipped></testcase>
<testcase classname="test_sshfs" name="test_teardown" time="0.1"/>
<testcase classname="test_sshfs" name="test_teardown" time="0.1"><error message="failed on teardown with &quot;boom&quot;">x</error></testcase>
</testsuite></testsuites>`

func TestParseJUnit(t *testing.T) {
	got, err := ParseJUnit(strings.NewReader(junitOutput))
	if err != nil {
		t.Fatal(err)
	}
	want := Results{
		"test_sshfs[debug=false]": {Pass: true, Status: "pass"},
		"test_link":               {Status: "fail", Detail: "in tst_link: AssertionError: assert 1 == 2"},
		"test_hardlink":           {Status: "skip", Detail: "server does not support hardlink extension"},
		"test_teardown":           {Status: "error", Detail: `failed on teardown with "boom"`},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %v\nwant %v", got, want)
	}
	if _, err := ParseJUnit(strings.NewReader("<testsuites><testcase")); err == nil {
		t.Error("truncated XML: got no error, want one")
	}
}

func TestCompare(t *testing.T) {
	pass, fail := Result{Pass: true, Status: "pass"}, Result{Status: "fail", Detail: "got EPERM"}
	ours := Results{"a/00.t 1": pass, "a/00.t 2": fail, "a/00.t 10": fail, "b/00.t 1": pass, "c/00.t 1": fail}
	ref := Results{"a/00.t 1": pass, "a/00.t 2": pass, "a/00.t 10": pass, "b/00.t 1": fail, "c/00.t 1": pass,
		"d/00.t 1": pass}
	c := Compare(ours, ref, PjdfstestGroup, map[string]string{"c/00.t 1": "roots differ"})
	wantGroups := []Group{{"a", 1, 3, 3}, {"b", 1, 0, 1}, {"c", 0, 1, 1}, {"d", 0, 1, 1}}
	if !reflect.DeepEqual(c.Groups, wantGroups) {
		t.Errorf("groups: got %v, want %v", c.Groups, wantGroups)
	}
	wantReg := []string{"a/00.t 2", "a/00.t 10", "d/00.t 1"}
	if !reflect.DeepEqual(c.Regressions, wantReg) {
		t.Errorf("regressions: got %q, want %q (natural order, not-applicable left out)", c.Regressions, wantReg)
	}
	if want := []string{"b/00.t 1"}; !reflect.DeepEqual(c.Gains, want) {
		t.Errorf("gains: got %q, want %q", c.Gains, want)
	}
	wantFewer := []Group{{"a", 1, 3, 3}, {"c", 0, 1, 1}, {"d", 0, 1, 1}}
	if got := c.Fewer(); !reflect.DeepEqual(got, wantFewer) {
		t.Errorf("fewer: got %v, want %v", got, wantFewer)
	}

	var b bytes.Buffer
	c.WriteCounts(&b, "dir", "ours", "ref")
	for _, want := range []string{"| a | 1 **fewer** | 3 | 3 |", "| b | 1 | 0 | 1 |", "| total | 2 | 5 | 6 |"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("counts table lacks %q:\n%s", want, b.String())
		}
	}
	b.Reset()
	c.WriteCases(&b, "test", "ours", "ref")
	for _, want := range []string{"| a/00.t 2 | **fail** | pass |", "| c/00.t 1 | fail (not applicable: roots differ) | pass |",
		"| d/00.t 1 | **missing** | pass |"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("cases table lacks %q:\n%s", want, b.String())
		}
	}
	b.Reset()
	c.WriteRegressions(&b, PjdfstestGroup)
	want := "\na:\n  a/00.t 2  fail: got EPERM\n  a/00.t 10  fail: got EPERM\n\nd:\n  d/00.t 1  missing\n"
	if b.String() != want {
		t.Errorf("regressions: got\n%s\nwant\n%s", b.String(), want)
	}
}
