package server

import (
	"io/fs"
	"os"
	"slices"
	"strings"
	"time"
)

// The values of shell_check: what a user's login shell must be like for
// the account to log in.
const (
	// ShellLogin (the default): the shell exists, is an executable file
	// and is not one that refuses logins (nologinShells).
	ShellLogin = "login"
	// ShellExists: the shell exists and is executable, sshd's own rule; a
	// nologin account may then use SFTP, as with sshd's ForceCommand
	// internal-sftp.
	ShellExists = "exists"
	// ShellOff: the shell is not looked at, as sshd does when it chroots.
	ShellOff = "off"
)

// nologinShells are the shells that exist to refuse logins.
var nologinShells = []string{"/usr/sbin/nologin", "/sbin/nologin", "/bin/false", "/usr/bin/false"}

// passwordExpiredBanner is what a client that logs in with a password that
// must be changed is told; key logins still work (as with sshd).
const passwordExpiredBanner = "Your password has expired. Change it on the server, or log in with a key.\n"

// shellFile is what stat(2), following links, says of a login shell.
type shellFile struct {
	found bool
	mode  fs.FileMode
}

// loginShell returns the shell a passwd entry names: "" means /bin/sh.
func loginShell(s string) string {
	if s == "" {
		return "/bin/sh"
	}
	return s
}

// statShell looks the account's login shell up in the filesystem.
func statShell(a Account) shellFile {
	st, err := os.Stat(loginShell(a.Shell))
	if err != nil {
		return shellFile{}
	}
	return shellFile{found: true, mode: st.Mode()}
}

// day is t in days since 1970-01-01 UTC, the unit of shadow's dates.
func day(t time.Time) int64 { return t.Unix() / 86400 }

// accountRefusal decides, as sshd's allowed_user() does, whether the
// account a may log in by any method today (a day as day returns), with
// shell the stat of its login shell and check the shell_check setting. It
// returns why not, for the log, or "" when it may. The rules:
//   - expired: the shadow entry's Expire is set and today is that day or
//     later (pam_unix's rule; sshd lets the day itself in);
//   - locked: the password hash (the shadow entry's, else passwd's) starts
//     with "!" or is "*LK*"; "*" and "" are not locked;
//   - inactive: the password ran out (LastChange+Max) more than Inactive
//     days ago (pam_unix's rule; sshd leaves it to PAM);
//   - the shell, as check says (ShellLogin, ShellExists, ShellOff).
//
// An account without a shadow entry (from NSS alone) skips the shadow
// rules, as sshd does when getspnam finds nothing.
func accountRefusal(a Account, shell shellFile, check string, today int64) string {
	sh := a.Shadow
	if sh != nil && sh.Expire >= 0 && today >= sh.Expire {
		return "account has expired"
	}
	hash := a.Password
	if sh != nil {
		hash = sh.Hash
	}
	if strings.HasPrefix(hash, "!") || hash == "*LK*" {
		return "account is locked"
	}
	if sh != nil && sh.LastChange > 0 && sh.Max >= 0 && sh.Inactive >= 0 && sh.LastChange+sh.Max+sh.Inactive < today {
		return "account is inactive"
	}
	return shellRefusal(loginShell(a.Shell), shell, check)
}

// lockHint is a hint for the log when a's password field is a bare "!" or
// "!!": an account that never had a password (useradd leaves it so, and
// usermod -L on it changes nothing), which may be meant for keys alone.
func lockHint(a Account) string {
	hash := a.Password
	if a.Shadow != nil {
		hash = a.Shadow.Hash
	}
	if hash != "!" && hash != "!!" {
		return ""
	}
	return "the account never had a password (useradd leaves \"!\"); for key logins without one: usermod -p '*' " + a.Name
}

// shellRefusal is accountRefusal's rule for the login shell path.
func shellRefusal(path string, f shellFile, check string) string {
	switch {
	case check == ShellOff:
		return ""
	case check != ShellExists && slices.Contains(nologinShells, path):
		return "shell " + path + " refuses logins"
	case !f.found:
		return "shell " + path + " does not exist"
	case !f.mode.IsRegular() || f.mode.Perm()&0o111 == 0:
		return "shell " + path + " is not executable"
	}
	return ""
}

// passwordChange says why the password of the account with shadow entry sh
// must be changed before it can be used again today, or "": the
// administrator forced it (LastChange 0, chage -d 0 or passwd -e), or it
// is older than Max days (sshd's auth_shadow_pwexpired). A password login
// is then refused with passwordExpiredBanner; a key login goes on, as with
// sshd without PAM.
func passwordChange(sh *Shadow, today int64) string {
	switch {
	case sh == nil:
		return ""
	case sh.LastChange == 0:
		return "password must be changed (forced by the administrator)"
	case sh.LastChange > 0 && sh.Max >= 0 && sh.LastChange+sh.Max < today:
		return "password has expired"
	}
	return ""
}
