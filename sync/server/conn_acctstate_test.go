package server

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
)

func TestParsePasswd(t *testing.T) {
	tests := []struct {
		line    string
		want    passwdEntry
		wantErr bool
	}{
		{"alice:x:1000:1000:Alice,,,:/home/alice:/bin/bash",
			passwdEntry{Name: "alice", Password: "x", UID: 1000, GID: 1000, Home: "/home/alice", Shell: "/bin/bash"}, false},
		{"bob:*:1001:100::/home/bob:", passwdEntry{Name: "bob", Password: "*", UID: 1001, GID: 100, Home: "/home/bob"}, false},
		{"short:x:1:1:/home", passwdEntry{}, true},
		{"bad:x:one:1::/:/bin/sh", passwdEntry{}, true},
		{":x:1:1::/:/bin/sh", passwdEntry{}, true},
	}
	for _, tc := range tests {
		t.Run(tc.line, func(t *testing.T) {
			got, err := parsePasswd(tc.line)
			if (err != nil) != tc.wantErr || got != tc.want {
				t.Fatalf("got %+v, %v; want %+v, error %v", got, err, tc.want, tc.wantErr)
			}
		})
	}
}

func TestParseShadow(t *testing.T) {
	tests := []struct {
		line    string
		want    Shadow
		wantErr bool
	}{
		{"alice:$y$j9T$abc:20000:0:99999:7:::",
			Shadow{Name: "alice", Hash: "$y$j9T$abc", LastChange: 20000, Min: 0, Max: 99999, Warn: 7, Inactive: -1, Expire: -1}, false},
		{"bob:!:20000:0:99999:7:30:1:",
			Shadow{Name: "bob", Hash: "!", LastChange: 20000, Min: 0, Max: 99999, Warn: 7, Inactive: 30, Expire: 1}, false},
		{"carol:*::::::0:", Shadow{Name: "carol", Hash: "*", LastChange: -1, Min: -1, Max: -1, Warn: -1, Inactive: -1, Expire: 0}, false},
		{"old:hash", Shadow{Name: "old", Hash: "hash", LastChange: -1, Min: -1, Max: -1, Warn: -1, Inactive: -1, Expire: -1}, false},
		{"bad:x:soon:0:99999:7:::", Shadow{}, true},
		{"neg:x:-5:0:99999:7:::", Shadow{}, true},
		{"few:x:1:2", Shadow{}, true},
		{":x::::::::", Shadow{}, true},
	}
	for _, tc := range tests {
		t.Run(tc.line, func(t *testing.T) {
			got, err := parseShadow(tc.line)
			if (err != nil) != tc.wantErr || got != tc.want {
				t.Fatalf("got %+v, %v; want %+v, error %v", got, err, tc.want, tc.wantErr)
			}
		})
	}
}

func TestFindLine(t *testing.T) {
	db := "# comment\n\n+nis::0:0:::\nalicex:x:1:1::/:/bin/sh\nalice:x:2:2::/:/bin/sh\nalice:x:3:3::/:/bin/sh\n"
	line, found, err := findLine(strings.NewReader(db), "alice")
	if err != nil || !found || !strings.HasPrefix(line, "alice:x:2:") {
		t.Errorf("alice: got %q, %v, %v; want the first alice line", line, found, err)
	}
	if _, found, _ := findLine(strings.NewReader(db), "+nis"); found {
		t.Error("+nis: got found, want NIS lines skipped")
	}
	if _, found, _ := findLine(strings.NewReader(db), "bob"); found {
		t.Error("bob: got found, want not found")
	}
}

func TestAccountRefusal(t *testing.T) {
	const today = 20000
	exe := shellFile{found: true, mode: 0o755}
	sh := func(hash string, change, max, inact, expire int64) *Shadow {
		return &Shadow{Name: "u", Hash: hash, LastChange: change, Min: 0, Max: max, Warn: 7, Inactive: inact, Expire: expire}
	}
	good := "$y$j9T$hash"
	tests := []struct {
		name  string
		acct  Account
		shell shellFile
		check string
		want  string
	}{
		{"password, no aging", Account{Shadow: sh(good, 19000, 99999, -1, -1)}, exe, ShellLogin, ""},
		{"no shadow entry (NSS only)", Account{Password: "x"}, exe, ShellLogin, ""},
		{"expired yesterday", Account{Shadow: sh(good, 19000, -1, -1, today-1)}, exe, ShellLogin, "account has expired"},
		{"expires today", Account{Shadow: sh(good, 19000, -1, -1, today)}, exe, ShellLogin, "account has expired"},
		{"expires tomorrow", Account{Shadow: sh(good, 19000, -1, -1, today+1)}, exe, ShellLogin, ""},
		{"chage -E 0", Account{Shadow: sh(good, 19000, -1, -1, 0)}, exe, ShellLogin, "account has expired"},
		{"usermod -e 1", Account{Shadow: sh("*", 19000, -1, -1, 1)}, exe, ShellLogin, "account has expired"},
		{"expiry checked before the lock", Account{Shadow: sh("!", 19000, -1, -1, 1)}, exe, ShellLogin, "account has expired"},
		{"usermod -L", Account{Shadow: sh("!"+good, 19000, 99999, -1, -1)}, exe, ShellLogin, "account is locked"},
		{"useradd without password", Account{Shadow: sh("!", 19000, 99999, -1, -1)}, exe, ShellLogin, "account is locked"},
		{"RHEL never set", Account{Shadow: sh("!!", 19000, 99999, -1, -1)}, exe, ShellLogin, "account is locked"},
		{"Solaris lock", Account{Shadow: sh("*LK*", 19000, 99999, -1, -1)}, exe, ShellLogin, "account is locked"},
		{"usermod -p '*'", Account{Shadow: sh("*", 19000, 99999, -1, -1)}, exe, ShellLogin, ""},
		{"empty password", Account{Shadow: sh("", 19000, 99999, -1, -1)}, exe, ShellLogin, ""},
		{"* prefix is not a lock", Account{Shadow: sh("*x", 19000, 99999, -1, -1)}, exe, ShellLogin, ""},
		{"shadow hash wins over passwd", Account{Password: "!", Shadow: sh(good, 19000, -1, -1, -1)}, exe, ShellLogin, ""},
		{"locked in passwd, no shadow", Account{Password: "!hash"}, exe, ShellLogin, "account is locked"},
		{"inactive", Account{Shadow: sh(good, today-100, 60, 30, -1)}, exe, ShellLogin, "account is inactive"},
		{"inactive on the last day", Account{Shadow: sh(good, today-90, 60, 30, -1)}, exe, ShellLogin, ""},
		{"expired password, no inactivity", Account{Shadow: sh(good, today-100, 60, -1, -1)}, exe, ShellLogin, ""},
		{"forced change is not inactive", Account{Shadow: sh(good, 0, 60, 0, -1)}, exe, ShellLogin, ""},
		{"nologin", Account{Shell: "/usr/sbin/nologin"}, exe, ShellLogin, "shell /usr/sbin/nologin refuses logins"},
		{"/sbin/nologin", Account{Shell: "/sbin/nologin"}, exe, ShellLogin, "shell /sbin/nologin refuses logins"},
		{"/bin/false", Account{Shell: "/bin/false"}, exe, ShellLogin, "shell /bin/false refuses logins"},
		{"nologin, shell_check exists", Account{Shell: "/usr/sbin/nologin"}, exe, ShellExists, ""},
		{"missing shell", Account{Shell: "/bin/nosuch"}, shellFile{}, ShellLogin, "shell /bin/nosuch does not exist"},
		{"missing shell, exists", Account{Shell: "/bin/nosuch"}, shellFile{}, ShellExists, "shell /bin/nosuch does not exist"},
		{"missing shell, off", Account{Shell: "/bin/nosuch"}, shellFile{}, ShellOff, ""},
		{"empty shell is /bin/sh", Account{}, shellFile{}, ShellLogin, "shell /bin/sh does not exist"},
		{"shell not executable", Account{Shell: "/bin/x"}, shellFile{found: true, mode: 0o644}, ShellExists, "shell /bin/x is not executable"},
		{"shell a directory", Account{Shell: "/bin"}, shellFile{found: true, mode: os.ModeDir | 0o755}, ShellExists, "shell /bin is not executable"},
		{"locked beats shell off", Account{Shell: "/bin/nosuch", Shadow: sh("!", 19000, -1, -1, -1)}, shellFile{}, ShellOff, "account is locked"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := accountRefusal(tc.acct, tc.shell, tc.check, today); got != tc.want {
				t.Fatalf("got %q, want %q", got, tc.want)
			}
		})
	}
}

func TestPasswordChange(t *testing.T) {
	const today = 20000
	tests := []struct {
		name string
		sh   *Shadow
		want string
	}{
		{"no shadow entry", nil, ""},
		{"no aging", &Shadow{LastChange: -1, Max: -1}, ""},
		{"chage -d 0", &Shadow{LastChange: 0, Max: 99999}, "password must be changed (forced by the administrator)"},
		{"chage -d 0, no maximum", &Shadow{LastChange: 0, Max: -1}, "password must be changed (forced by the administrator)"},
		{"aged out", &Shadow{LastChange: today - 31, Max: 30}, "password has expired"},
		{"last day", &Shadow{LastChange: today - 30, Max: 30}, ""},
		{"no maximum", &Shadow{LastChange: 1, Max: -1}, ""},
		{"changed in the future", &Shadow{LastChange: today + 5, Max: 0}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := passwordChange(tc.sh, today); got != tc.want {
				t.Fatalf("got %q, want %q", got, tc.want)
			}
		})
	}
}

func TestDay(t *testing.T) {
	for _, tc := range []struct {
		t    time.Time
		want int64
	}{
		{time.Date(1970, 1, 1, 23, 59, 59, 0, time.UTC), 0},
		{time.Date(1970, 1, 2, 0, 0, 0, 0, time.UTC), 1},
		{time.Date(2026, 12, 5, 1, 0, 0, 0, time.FixedZone("east", 5*3600)), 20791},
	} {
		if got := day(tc.t); got != tc.want {
			t.Errorf("day(%v): got %d, want %d", tc.t, got, tc.want)
		}
	}
}

// TestSystemAccounts reads root's shell and shadow entry from files of the
// test's, and refuses the lookup when the shadow file cannot be read.
func TestSystemAccounts(t *testing.T) {
	dir := t.TempDir()
	pw, shadow := filepath.Join(dir, "passwd"), filepath.Join(dir, "shadow")
	os.WriteFile(pw, []byte("daemon:x:1:1::/:/usr/sbin/nologin\nroot:x:0:0:root:/root:/bin/nosuch\n"), 0o644)
	os.WriteFile(shadow, []byte("root:!$y$hash:20000:0:99999:7::1:\n"), 0o600)
	a, err := SystemAccounts{PasswdPath: pw, ShadowPath: shadow}.Lookup("root")
	if err != nil {
		t.Fatal(err)
	}
	want := Shadow{Name: "root", Hash: "!$y$hash", LastChange: 20000, Min: 0, Max: 99999, Warn: 7, Inactive: -1, Expire: 1}
	if a.Shell != "/bin/nosuch" || a.Password != "x" || a.Shadow == nil || *a.Shadow != want {
		t.Errorf("got shell %q, password %q, shadow %+v; want /bin/nosuch, x, %+v", a.Shell, a.Password, a.Shadow, want)
	}
	os.WriteFile(shadow, []byte("daemon:*:20000:0:99999:7:::\n"), 0o600)
	if a, err := (SystemAccounts{PasswdPath: pw, ShadowPath: shadow}).Lookup("root"); err != nil || a.Shadow != nil {
		t.Errorf("no shadow entry: got %+v, %v; want no shadow and no error", a.Shadow, err)
	}
	if a, err := (SystemAccounts{PasswdPath: pw, ShadowPath: filepath.Join(dir, "none")}).Lookup("root"); err != nil || a.Shadow != nil {
		t.Errorf("no shadow file: got %+v, %v; want no shadow and no error", a.Shadow, err)
	}
	os.WriteFile(shadow, []byte("root:*:soon:0:99999:7:::\n"), 0o600)
	if _, err := (SystemAccounts{PasswdPath: pw, ShadowPath: shadow}).Lookup("root"); err == nil {
		t.Error("malformed shadow entry: got nil error, want the lookup refused")
	}
	if os.Geteuid() == 0 {
		// A directory cannot be read as a file, even by root.
		if _, err := (SystemAccounts{PasswdPath: pw, ShadowPath: dir}).Lookup("root"); err == nil {
			t.Error("unreadable shadow as root: got nil error, want the lookup refused")
		}
	}
	os.WriteFile(pw, []byte("root:x:5:0:root:/root:/bin/sh\n"), 0o644)
	if _, err := (SystemAccounts{PasswdPath: pw, ShadowPath: shadow}).Lookup("root"); err == nil {
		t.Error("passwd with another uid: got nil error, want the lookup refused")
	}
}

// expiredStack accepts any password and then says it must be changed,
// as pam_acct_mgmt does with PAM_NEW_AUTHTOK_REQD.
type expiredStack struct{}

func (expiredStack) authenticate(user, rhost string, conv conversation) (pamLogin, error) {
	if _, err := conv(promptEchoOff, "Password: "); err != nil {
		return nil, err
	}
	return nil, errPasswordExpired
}

// TestPasswordMustChange checks that a password login whose password must
// be changed is refused with a banner for the client, whether the shadow
// entry or the stack says so, and that the banner needs the right password.
func TestPasswordMustChange(t *testing.T) {
	forced := &Shadow{Name: "alice", Hash: "$y$h", LastChange: 0, Max: 99999, Warn: 7, Inactive: -1, Expire: -1}
	for _, tc := range []struct {
		name, password string
		stack          passwordChecker
		shadow         *Shadow
		banner         bool
	}{
		{"shadow says so", "secret", &fakeStack{}, forced, true},
		{"shadow says so, wrong password", "guess", &fakeStack{}, forced, false},
		{"the stack says so", "secret", expiredStack{}, nil, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var log bytes.Buffer
			a := newPasswordAuth(tc.stack, &log)
			a.accounts = multiAccounts{"alice": {Name: "alice", UID: 1000, GroupNames: []string{"alice"}, Shadow: tc.shadow}}
			_, err := a.password(fakeConn{"alice"}, []byte(tc.password))
			var be *ssh.BannerError
			if err == nil || !errors.Is(err, errDenied) {
				t.Fatalf("got %v, want refused", err)
			}
			if got := errors.As(err, &be) && strings.Contains(be.Message, "Your password has expired"); got != tc.banner {
				t.Fatalf("banner: got %v (%v), want %v", got, err, tc.banner)
			}
		})
	}
}

// TestKeyLoginMustChange checks that a key login goes on with a password
// that must be changed, with a warning in the log, and that a locked or
// expired account is refused before any key is looked at.
func TestKeyLoginMustChange(t *testing.T) {
	for _, tc := range []struct {
		name   string
		shadow Shadow
		ok     bool
		log    string
	}{
		{"forced change", Shadow{Hash: "$y$h", LastChange: 0, Max: 99999, Inactive: -1, Expire: -1}, true, "password must be changed"},
		{"locked", Shadow{Hash: "!$y$h", LastChange: 1, Max: 99999, Inactive: -1, Expire: -1}, false, "account is locked"},
		{"expired", Shadow{Hash: "*", LastChange: 1, Max: 99999, Inactive: -1, Expire: 1}, false, "account has expired"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			home := t.TempDir()
			edPub, _, _ := ed25519.GenerateKey(rand.Reader)
			pub, _ := ssh.NewPublicKey(edPub)
			os.MkdirAll(filepath.Join(home, ".ssh"), 0o700)
			os.WriteFile(filepath.Join(home, ".ssh", "authorized_keys"), ssh.MarshalAuthorizedKey(pub), 0o600)
			var log bytes.Buffer
			a := newPasswordAuth(nil, &log)
			a.cfg.PermitRoot = true // the test's own uid may be root's
			sh := tc.shadow
			a.accounts = multiAccounts{"alice": {Name: "alice", UID: uint32(os.Getuid()), GID: uint32(os.Getgid()),
				Groups: []uint32{uint32(os.Getgid())}, GroupNames: []string{"alice"}, Home: home, Shadow: &sh}}
			p, err := a.publicKey(fakeConn{"alice"}, pub)
			if (err == nil) != tc.ok {
				t.Fatalf("publicKey: got %v, want ok %v\n%s", err, tc.ok, log.String())
			}
			if err == nil {
				if _, err := a.verified(fakeConn{"alice"}, pub, p, pub.Type()); err != nil {
					t.Fatalf("verified: got %v, want accepted", err)
				}
			}
			if !strings.Contains(log.String(), tc.log) {
				t.Errorf("log lacks %q:\n%s", tc.log, log.String())
			}
		})
	}
}

func TestValidateAccountKeys(t *testing.T) {
	on := true
	tests := []struct {
		name string
		cfg  Config
		ok   bool
	}{
		{"defaults", Config{}.Defaults(), true},
		{"shell_check exists", Config{ShellCheck: ShellExists}, true},
		{"shell_check off", Config{ShellCheck: ShellOff}, true},
		{"shell_check misspelt", Config{ShellCheck: "nologin"}, false},
		{"use_pam", Config{UsePAM: &on}, PasswordAuthSupported},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.cfg.Validate(); (err == nil) != tc.ok {
				t.Fatalf("got %v, want ok %v", err, tc.ok)
			}
		})
	}
	d := Config{}.Defaults()
	if d.ShellCheck != ShellLogin || d.PAMService != PAMService || d.UsePAM == nil || *d.UsePAM != PasswordAuthSupported {
		t.Errorf("defaults: got shell_check %q, pam_service %q, use_pam %v; want %q, %q, %v",
			d.ShellCheck, d.PAMService, d.UsePAM, ShellLogin, PAMService, PasswordAuthSupported)
	}
}

func TestLoadConfigAccountKeys(t *testing.T) {
	p := filepath.Join(t.TempDir(), "c.toml")
	os.WriteFile(p, []byte("shell_check = \"exists\"\nuse_pam = false\npam_service = \"sc-test\"\n"), 0o644)
	c, err := LoadConfig(p)
	if err != nil || c.ShellCheck != ShellExists || c.UsePAM == nil || *c.UsePAM || c.PAMService != "sc-test" {
		t.Fatalf("got %+v, %v; want shell_check exists, use_pam false, pam_service sc-test", c, err)
	}
}
