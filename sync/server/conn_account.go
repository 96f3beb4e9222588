package server

import (
	"cmp"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/user"
	"slices"
	"strconv"
)

// Account is a system user as the server sees it.
type Account struct {
	Name   string
	UID    uint32
	GID    uint32
	Groups []uint32 // supplementary group ids, including GID
	// GroupNames are the names of the primary and supplementary groups,
	// for allow/deny lists; ids without a name appear as numbers.
	GroupNames []string
	Home       string
	// Shell is the login shell the passwd entry names ("" means /bin/sh),
	// Password its password field ("x" when the hash is in the shadow
	// database) and Shadow the shadow entry, nil when there is none (an
	// account from NSS alone). accountRefusal decides with them.
	Shell    string
	Password string
	Shadow   *Shadow
}

// Accounts looks users up. The server owns one; it is safe for concurrent use.
type Accounts interface {
	Lookup(name string) (Account, error)
}

// SystemAccounts reads a user's passwd entry (ids, home, shell, password
// field) once, from PasswdPath or, with cgo, NSS when the file lacks the
// user, the shadow entry from ShadowPath, and the groups with os/user (in
// a static binary os/user reads /etc/group itself; with cgo it goes
// through NSS). The zero value reads /etc/passwd and /etc/shadow.
type SystemAccounts struct {
	PasswdPath string // default /etc/passwd
	ShadowPath string // default /etc/shadow
}

// Lookup returns the account called name. A shadow database that cannot be
// read is an error when running as root, so that the login is refused
// (fail closed); when not root (tests) the shadow rules are skipped. A
// missing shadow file means no account has a shadow entry, as getspnam
// then finds none.
func (s SystemAccounts) Lookup(name string) (Account, error) {
	pw, err := s.passwd(name)
	if err != nil {
		return Account{}, err
	}
	a := Account{Name: pw.Name, UID: pw.UID, GID: pw.GID, Home: pw.Home, Shell: pw.Shell, Password: pw.Password}
	gid := strconv.FormatUint(uint64(pw.GID), 10)
	ids, err := (&user.User{Username: pw.Name, Gid: gid}).GroupIds()
	if err != nil {
		return Account{}, fmt.Errorf("list groups of %q: %w", name, err)
	}
	if !slices.Contains(ids, gid) {
		ids = append([]string{gid}, ids...)
	}
	for _, s := range ids {
		g, err := strconv.ParseUint(s, 10, 32)
		if err != nil {
			continue
		}
		a.Groups = append(a.Groups, uint32(g))
		if grp, err := user.LookupGroupId(s); err == nil {
			a.GroupNames = append(a.GroupNames, grp.Name)
		} else {
			a.GroupNames = append(a.GroupNames, s)
		}
	}
	if a.Shadow, err = s.shadow(name); err != nil {
		return Account{}, err
	}
	return a, nil
}

// passwd returns name's passwd entry from PasswdPath or else from NSS.
func (s SystemAccounts) passwd(name string) (passwdEntry, error) {
	p := cmp.Or(s.PasswdPath, "/etc/passwd")
	line, found, err := findLineIn(p, name)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return passwdEntry{}, fmt.Errorf("look up user %q: %w", name, err)
	}
	if found {
		return parsePasswd(line)
	}
	pw, found, err := lookupPasswdNSS(name)
	if err != nil {
		return passwdEntry{}, fmt.Errorf("look up user %q in NSS: %w", name, err)
	}
	if !found {
		return passwdEntry{}, fmt.Errorf("look up user in %s and NSS: %w", p, user.UnknownUserError(name))
	}
	return pw, nil
}

// shadow returns name's shadow entry from ShadowPath, nil when it has none.
func (s SystemAccounts) shadow(name string) (*Shadow, error) {
	p := cmp.Or(s.ShadowPath, "/etc/shadow")
	line, found, err := findLineIn(p, name)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, nil
	case errors.Is(err, fs.ErrPermission) && os.Geteuid() != 0:
		return nil, nil
	case err != nil:
		return nil, fmt.Errorf("look up user %q: %w", name, err)
	case !found:
		return nil, nil
	}
	sh, err := parseShadow(line)
	if err != nil {
		return nil, fmt.Errorf("look up user %q: %s: %w", name, p, err)
	}
	return &sh, nil
}

// findLineIn is findLine over the file at path.
func findLineIn(path, name string) (string, bool, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", false, err
	}
	defer f.Close()
	line, found, err := findLine(f, name)
	if err != nil {
		return "", false, fmt.Errorf("read %s: %w", path, err)
	}
	return line, found, nil
}

// policy decides whether an account may log in at all, before any key is
// looked at. It returns a reason for the log when it may not.
func policy(c Config, a Account) (ok bool, reason string) {
	if a.UID == 0 && !c.PermitRoot {
		return false, "root login is not permitted"
	}
	if slices.Contains(c.DenyUsers, a.Name) {
		return false, "user is in deny_users"
	}
	if len(c.AllowUsers) > 0 && !slices.Contains(c.AllowUsers, a.Name) {
		return false, "user is not in allow_users"
	}
	for _, g := range a.GroupNames {
		if slices.Contains(c.DenyGroups, g) {
			return false, "group " + g + " is in deny_groups"
		}
	}
	if len(c.AllowGroups) > 0 && !slices.ContainsFunc(a.GroupNames, func(g string) bool {
		return slices.Contains(c.AllowGroups, g)
	}) {
		return false, "no group of the user is in allow_groups"
	}
	return true, ""
}
