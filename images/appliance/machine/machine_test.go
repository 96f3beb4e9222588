package machine

import (
	"io"
	"testing"
	"time"
)

type discard struct{ io.Writer }

func (discard) Close() error { return nil }

// console is a Machine with no qemu behind it: the test writes what the
// console printed.
func console(printed string) *Machine {
	m := &Machine{done: make(chan struct{}), stdin: discard{io.Discard}}
	m.Write([]byte(printed))
	return m
}

func TestRawOffset(t *testing.T) {
	for _, tc := range []struct {
		raw  string
		n    int
		want int
	}{
		{"abc", 2, 2},
		{"\x1b[0;1;39mab", 1, 10},
		{"a\r\nb", 2, 3},
		{"ab\x1b[0m", 2, 2},
		{"ab", 5, 2},
	} {
		if got := rawOffset(tc.raw, tc.n); got != tc.want {
			t.Errorf("rawOffset(%q, %d): got %d, want %d", tc.raw, tc.n, got, tc.want)
		}
	}
}

func TestExpectMovesPastTheMatch(t *testing.T) {
	m := console("\x1b[0;1;39mfirst login: \x1b[0m\r\nPassword: \r\nsecond login: ")
	for _, want := range []string{"first login: ", "Password: ", "second login: "} {
		got, err := m.Expect(`[a-z]* ?(login|Password): `, time.Second)
		if err != nil || got[0] != want {
			t.Fatalf("Expect: got %q, %v; want %q", got, err, want)
		}
	}
	if _, err := m.Expect(`login: `, 200*time.Millisecond); err == nil {
		t.Errorf("Expect found a prompt it had moved past")
	}
}

// TestShellOutput feeds the console what bash prints for Shell's line: the
// echo of the typed line (whose split markers must not match), the
// command's output and the markers.
func TestShellOutput(t *testing.T) {
	m := console("root@simplecloud:~# printf '%s\\n' '@@BE''GIN@@'; systemctl --failed; printf '@@E''ND %d@@\\n' \"$?\"\r\n" +
		"@@BEGIN@@\r\n0 loaded units listed.\r\n@@END 3@@\r\nroot@simplecloud:~# ")
	out, code, err := m.Shell("systemctl --failed", time.Second)
	if err != nil || out != "0 loaded units listed.\n" || code != 3 {
		t.Errorf("Shell: got %q, exit %d, %v; want %q, exit 3", out, code, err, "0 loaded units listed.\n")
	}
}
