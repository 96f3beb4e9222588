package main

import (
	"slices"
	"testing"
)

func TestRemoteUnlockArgv(t *testing.T) {
	cases := []struct {
		name string
		r    remoteUnlock
		want []string
		bad  bool
	}{
		{"plain", remoteUnlock{dest: "admin@host"}, []string{"ssh", "admin@host", "unlock"}, false},
		{"all", remoteUnlock{dest: "host", port: 2222, identity: "k", options: []string{"A=1", "B=2"}},
			[]string{"ssh", "-p", "2222", "-i", "k", "-o", "A=1", "-o", "B=2", "host", "unlock"}, false},
		{"option as host", remoteUnlock{dest: "-oProxyCommand=x"}, nil, true},
		{"empty", remoteUnlock{}, nil, true},
		{"port", remoteUnlock{dest: "h", port: 70000}, nil, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := c.r.argv()
			if (err != nil) != c.bad || !slices.Equal(got, c.want) {
				t.Errorf("got %q, %v; want %q, error %v", got, err, c.want, c.bad)
			}
		})
	}
}

func TestClassify(t *testing.T) {
	cases := []struct {
		line string
		want remoteAnswer
	}{
		{"unlocked: the data volume is open; new connections are served", answerUnlocked},
		{"wrong passphrase (2 tries left)", answerWrong},
		{"wrong passphrase", answerWrong},
		{"wrong passphrase: no tries left", answerNoTries},
		{"already unlocked", answerAlready},
		{"unlock failed: boom", answerOther},
	}
	for _, c := range cases {
		if got := classify(c.line); got != c.want {
			t.Errorf("classify(%q) = %d, want %d", c.line, got, c.want)
		}
	}
}
