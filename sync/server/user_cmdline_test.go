package server

import (
	"errors"
	"os/exec"
	"regexp"
	"strings"
	"testing"
)

// parseOK are command lines answered, with what they mean.
var parseOK = []struct {
	line string
	want userCommand
}{
	// What rclone sends: the probe, then one file per command.
	{"md5sum", userCommand{name: "md5sum", stdin: true}},
	{"sha1sum", userCommand{name: "sha1sum", stdin: true}},
	{"sha256sum", userCommand{name: "sha256sum", stdin: true}},
	{"md5sum /data/a.txt", userCommand{name: "md5sum", path: "/data/a.txt"}},
	{"sha1sum /data/a.txt", userCommand{name: "sha1sum", path: "/data/a.txt"}},
	{"sha256sum /d/x-y_z.1,2:3@4", userCommand{name: "sha256sum", path: "/d/x-y_z.1,2:3@4"}},
	{`md5sum /data/a\ b\'c\"d\$e\;f\|g\&h`, userCommand{name: "md5sum", path: `/data/a b'c"d$e;f|g&h`}},
	{`md5sum /x\*\?\[\]\{\}\~\#\!\(\)\<\>\=\%\+\^\` + "`", userCommand{name: "md5sum", path: "/x*?[]{}~#!()<>=%+^`"}},
	{`md5sum /back\\slash`, userCommand{name: "md5sum", path: `/back\slash`}},
	{"md5sum /new'\n'line", userCommand{name: "md5sum", path: "/new\nline"}},
	{"md5sum /tab\\\tx", userCommand{name: "md5sum", path: "/tab\tx"}},
	{"md5sum /été/日本", userCommand{name: "md5sum", path: "/été/日本"}},
	{"md5sum /emoji\\😀", userCommand{name: "md5sum", path: "/emoji😀"}},
	{"md5sum /bad\xffbyte", userCommand{name: "md5sum", path: "/bad\xffbyte"}},
	{"md5sum /bad\\\xffbyte", userCommand{name: "md5sum", path: "/bad\xffbyte"}},
	{"df -k /", userCommand{name: "df", path: "/"}},
	{`df -k /data/my\ dir`, userCommand{name: "df", path: "/data/my dir"}},
	// Plain paths and single quotes, as a person types them.
	{"md5sum a.txt", userCommand{name: "md5sum", path: "a.txt"}},
	{"md5sum ../../etc/passwd", userCommand{name: "md5sum", path: "../../etc/passwd"}},
	{"md5sum 'a b;c'", userCommand{name: "md5sum", path: "a b;c"}},
	{"  md5sum\t x  ", userCommand{name: "md5sum", path: "x"}},
	{"md5sum x/-y", userCommand{name: "md5sum", path: "x/-y"}},
}

func TestParseUserCommand(t *testing.T) {
	for _, tc := range parseOK {
		t.Run(tc.line, func(t *testing.T) {
			got, err := parseUserCommand(tc.line)
			if err != nil || got != tc.want {
				t.Errorf("got %+v, %v; want %+v", got, err, tc.want)
			}
		})
	}
	refused := []string{
		"", "   ", "id", "cat x", "sh -c md5sum", "/usr/bin/md5sum x", "md5 -r", "rclone md5sum",
		"b3sum", "crc32", "xxh128sum", "echo ${ShellId}%ComSpec%", "df", "df /", "df -h /", "df -k",
		"df -k / /tmp", "df -k", `df \-k /`, "df '-k' /", "'md5sum' x", `md5sum\  x`, `\md5sum x`,
		"md5sum a b", "md5sum -b x", "md5sum --tag x", "md5sum -- x", "md5sum -", "md5sum ''", "md5sum -c sums",
		"md5sum; id", "md5sum x; id", "md5sum x;id", "md5sum x | sh", "md5sum x|sh", "md5sum x && id",
		"md5sum x &", "md5sum $HOME", "md5sum ${HOME}", "md5sum $(id)", "md5sum `id`", "md5sum x > y",
		"md5sum < x", "md5sum x 2>&1", "md5sum *", "md5sum x*", "md5sum ?", "md5sum [a]", "md5sum {a,b}",
		"md5sum ~", "md5sum ~root/x", "md5sum #x", "md5sum \"x\"", "md5sum x\nid", "md5sum x\n",
		"md5sum 'x", `md5sum x\`, "md5sum x\\\nid", "md5sum (x)", "md5sum !x", "md5sum a=b", "md5sum x\x00y",
		"md5sum a#b", "MD5SUM x", "md5sum\x00 x", "md5sum '\x00'", "md5sum \\\x00", "sha512sum x", "sha224sum x",
	}
	for _, line := range refused {
		t.Run("refuse "+line, func(t *testing.T) {
			got, err := parseUserCommand(line)
			if !errors.Is(err, errNotOffered) {
				t.Errorf("got %+v, %v; want refused", got, err)
			}
		})
	}
}

// rcloneEscape is rclone's quoting of a path for a Unix shell, written
// from its documentation and behaviour (backend/sftp: a backslash before
// every character outside its safe set, a newline as '\n'), to check that
// every path rclone can send parses back to itself.
func rcloneEscape(p string) string {
	unsafe := regexp.MustCompile("[^A-Za-z0-9_.,:/@\u0080-\uFFFF\n-]")
	return strings.ReplaceAll(unsafe.ReplaceAllString(p, `\$0`), "\n", "'\n'")
}

// rclonePaths are paths with every ASCII character but NUL and others
// that rclone escapes.
var rclonePaths = []string{
	"/" + asciiAll(), "/a b/c'd\"e", "/x\n\ny", "/\\\\", "/-x", "/😀é\u00a0\uffff", "/\xff\xfe",
	"/'", "/''", "/\\'", "/a/..\\b", "/a\tb\rc",
}

// asciiAll is every ASCII character but NUL.
func asciiAll() string {
	var all strings.Builder
	for c := 1; c < 0x80; c++ {
		all.WriteByte(byte(c))
	}
	return all.String()
}

func TestParseRcloneQuoting(t *testing.T) {
	for _, p := range rclonePaths {
		for _, name := range []string{"md5sum", "sha1sum", "sha256sum"} {
			line := name + " " + rcloneEscape(p)
			got, err := parseUserCommand(line)
			if want := (userCommand{name: name, path: p}); err != nil || got != want {
				t.Errorf("%q: got %+v, %v; want %+v", line, got, err, want)
			}
		}
		line := "df -k " + rcloneEscape(p)
		if got, err := parseUserCommand(line); err != nil || got.path != p {
			t.Errorf("%q: got %+v, %v; want path %q", line, got, err, p)
		}
	}
}

// TestParseAgreesWithShell runs every accepted line's arguments through
// /bin/sh (printf of each word) and checks that the shell sees the same
// words as the parser: the parser's quoting is the shell's.
func TestParseAgreesWithShell(t *testing.T) {
	var lines []string
	for _, tc := range parseOK {
		lines = append(lines, tc.line)
	}
	for _, p := range rclonePaths {
		lines = append(lines, "md5sum "+rcloneEscape(p), "df -k "+rcloneEscape(p))
	}
	for _, line := range lines {
		agreesWithShell(t, line)
	}
}

// agreesWithShell fails t unless line is refused, or /bin/sh splits its
// arguments into the words the parser found.
func agreesWithShell(t *testing.T, line string) {
	t.Helper()
	words, err := shellWords(line)
	if err != nil || len(words) == 0 {
		return
	}
	args := strings.TrimPrefix(strings.TrimLeft(line, " \t"), words[0].text)
	out, err := exec.Command("sh", "-c", `printf '%s\0' X`+args).Output()
	if err != nil {
		t.Fatalf("sh %q: %v", args, err)
	}
	var got []string
	for _, w := range words[1:] {
		got = append(got, w.text)
	}
	sh := strings.Split(strings.TrimSuffix(string(out), "\x00"), "\x00")[1:]
	if strings.Join(got, "\x00") != strings.Join(sh, "\x00") {
		t.Errorf("%q: got %q, want the shell's %q", line, got, sh)
	}
}

// FuzzUserCommand checks that an accepted line is split as /bin/sh splits
// it and names one path that is not an option, and that the path, quoted
// as rclone quotes it, parses back to itself.
func FuzzUserCommand(f *testing.F) {
	for _, tc := range parseOK {
		f.Add(tc.line)
	}
	f.Add("md5sum x; id")
	f.Add("md5sum 'a'\\''b'")
	f.Fuzz(func(t *testing.T, line string) {
		cmd, err := parseUserCommand(line)
		if err != nil {
			if !errors.Is(err, errNotOffered) {
				t.Fatalf("%q: got %v, want errNotOffered", line, err)
			}
			return
		}
		if strings.ContainsRune(line, 0) {
			t.Fatalf("%q: accepted a NUL byte", line)
		}
		agreesWithShell(t, line)
		if cmd.stdin {
			return
		}
		if cmd.path == "" || cmd.path[0] == '-' {
			t.Fatalf("%q: got path %q, want a path that is not an option", line, cmd.path)
		}
		again := cmd.name + " " + rcloneEscape(cmd.path)
		if cmd.name == "df" {
			again = "df -k " + rcloneEscape(cmd.path)
		}
		if got, err := parseUserCommand(again); err != nil || got != cmd {
			t.Fatalf("%q: got %+v, %v; want %+v", again, got, err, cmd)
		}
	})
}
