package server

import (
	"fmt"
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
}

// Accounts looks users up. The server owns one; it is safe for concurrent use.
type Accounts interface {
	Lookup(name string) (Account, error)
}

// SystemAccounts looks users up with os/user. In a static binary built with
// CGO_ENABLED=0, os/user reads /etc/passwd and /etc/group itself; with cgo
// it goes through NSS.
type SystemAccounts struct{}

// Lookup returns the account called name.
func (SystemAccounts) Lookup(name string) (Account, error) {
	u, err := user.Lookup(name)
	if err != nil {
		return Account{}, fmt.Errorf("look up user %q: %w", name, err)
	}
	uid, err1 := strconv.ParseUint(u.Uid, 10, 32)
	gid, err2 := strconv.ParseUint(u.Gid, 10, 32)
	if err1 != nil || err2 != nil {
		return Account{}, fmt.Errorf("look up user %q: non-numeric uid %q or gid %q", name, u.Uid, u.Gid)
	}
	a := Account{Name: u.Username, UID: uint32(uid), GID: uint32(gid), Home: u.HomeDir}
	ids, err := u.GroupIds()
	if err != nil {
		return Account{}, fmt.Errorf("list groups of %q: %w", name, err)
	}
	if !slices.Contains(ids, u.Gid) {
		ids = append([]string{u.Gid}, ids...)
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
	return a, nil
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
