package server

import (
	"bytes"
	"errors"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
)

// fakeStack is a password stack that shows a message, asks one secret and
// accepts "secret" (read up to a NUL, like C). It records the users it was asked about.
type fakeStack struct{ asked []string }

func (f *fakeStack) authenticate(user, rhost string, conv conversation) (pamLogin, error) {
	f.asked = append(f.asked, user)
	if _, err := conv(textInfo, "hello"); err != nil {
		return nil, err
	}
	ans, err := conv(promptEchoOff, "Password: ")
	if err != nil {
		return nil, err
	}
	if i := strings.IndexByte(ans, 0); i >= 0 {
		ans = ans[:i] // as C sees it
	}
	if ans != "secret" {
		return nil, errors.New("wrong password")
	}
	return nil, nil
}

// fakeConn is the ssh.ConnMetadata of a client at 192.0.2.1.
type fakeConn struct{ user string }

func (c fakeConn) User() string          { return c.user }
func (c fakeConn) SessionID() []byte     { return nil }
func (c fakeConn) ClientVersion() []byte { return []byte("SSH-2.0-test") }
func (c fakeConn) ServerVersion() []byte { return []byte("SSH-2.0-SimpleCloud") }
func (c fakeConn) RemoteAddr() net.Addr  { return &net.TCPAddr{IP: net.IPv4(192, 0, 2, 1), Port: 1} }
func (c fakeConn) LocalAddr() net.Addr   { return &net.TCPAddr{IP: net.IPv4(192, 0, 2, 2), Port: 2} }

func newPasswordAuth(stack passwordChecker, log *bytes.Buffer) *authenticator {
	return &authenticator{
		cfg: Config{}.Defaults(),
		accounts: multiAccounts{
			"alice": {Name: "alice", UID: 1000, GroupNames: []string{"alice"}},
			"root":  {Name: "root", UID: 0, GroupNames: []string{"root"}},
		},
		backoff: nopEvents{}, log: slog.New(slog.NewTextHandler(log, &slog.HandlerOptions{Level: slog.LevelDebug})),
		now: time.Now, passwords: stack,
	}
}

type multiAccounts map[string]Account

func (m multiAccounts) Lookup(name string) (Account, error) {
	a, ok := m[name]
	if !ok {
		return Account{}, errors.New("no such user")
	}
	return a, nil
}

func TestPasswordCallback(t *testing.T) {
	tests := []struct {
		name, user, password string
		ok, asked            bool
	}{
		{"right password", "alice", "secret", true, true},
		{"wrong password", "alice", "guess", false, true},
		{"NUL does not cut the password short", "alice", "secret\x00junk", false, true},
		{"root never reaches the stack", "root", "secret", false, false},
		{"unknown user never reaches the stack", "mallory", "secret", false, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var log bytes.Buffer
			stack := &fakeStack{}
			a := newPasswordAuth(stack, &log)
			pw := []byte(tc.password)
			p, err := a.password(fakeConn{tc.user}, pw)
			if (err == nil) != tc.ok {
				t.Fatalf("got %v, want ok=%v", err, tc.ok)
			}
			if tc.ok && p.Extensions[extUser] != tc.user {
				t.Errorf("permissions: got %v, want user %s", p.Extensions, tc.user)
			}
			if got := len(stack.asked) > 0; got != tc.asked {
				t.Errorf("stack asked: got %v, want %v", got, tc.asked)
			}
			if !bytes.Equal(pw, make([]byte, len(pw))) {
				t.Errorf("password after the login: got %q, want zeroed", pw)
			}
			if strings.Contains(log.String(), tc.password) {
				t.Errorf("log holds the password:\n%s", log.String())
			}
		})
	}
}

// secondSecret asks two secrets, which the password method cannot answer.
type secondSecret struct{}

func (secondSecret) authenticate(user, rhost string, conv conversation) (pamLogin, error) {
	for range 2 {
		if _, err := conv(promptEchoOff, "Password: "); err != nil {
			return nil, err
		}
	}
	return nil, nil
}

func TestPasswordCallbackOneSecret(t *testing.T) {
	var log bytes.Buffer
	a := newPasswordAuth(secondSecret{}, &log)
	if _, err := a.password(fakeConn{"alice"}, []byte("secret")); err == nil {
		t.Fatal("a stack asking two secrets: got accepted, want refused")
	}
}

func TestKeyboardInteractive(t *testing.T) {
	for _, answer := range []string{"secret", "guess"} {
		var log bytes.Buffer
		a := newPasswordAuth(&fakeStack{}, &log)
		var asked []string
		client := func(name, instr string, qs []string, echos []bool) ([]string, error) {
			if len(qs) != 1 || echos[0] {
				t.Errorf("challenge: got %q echo %v, want one question without echo", qs, echos)
			}
			asked = append(asked, instr+"|"+strings.Join(qs, ","))
			return []string{answer}, nil
		}
		_, err := a.keyboardInteractive(fakeConn{"alice"}, ssh.KeyboardInteractiveChallenge(client))
		if (err == nil) != (answer == "secret") {
			t.Errorf("answer %q: got %v", answer, err)
		}
		if want := []string{"hello|Password: "}; strings.Join(asked, ";") != strings.Join(want, ";") {
			t.Errorf("challenges: got %q, want %q", asked, want)
		}
	}
}

func TestServerConfigMethods(t *testing.T) {
	var log bytes.Buffer
	a := newPasswordAuth(nil, &log)
	if c := a.serverConfig(nil); c.PasswordCallback != nil || c.KeyboardInteractiveCallback != nil {
		t.Error("password methods offered without a password stack")
	}
	a.passwords = &fakeStack{}
	if c := a.serverConfig(nil); c.PasswordCallback == nil || c.KeyboardInteractiveCallback == nil {
		t.Error("password methods not offered with a password stack")
	}
}
