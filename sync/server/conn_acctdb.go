package server

import (
	"bufio"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// passwdEntry is one line of /etc/passwd (passwd(5)).
type passwdEntry struct {
	Name     string
	Password string // "x" when the hash is in the shadow database
	UID, GID uint32
	Home     string
	Shell    string // "" means /bin/sh
}

// Shadow is one line of /etc/shadow (shadow(5)). Dates are days since
// 1970-01-01 UTC; a field left empty is -1, which turns its rule off.
type Shadow struct {
	Name string
	Hash string // "!..." is locked, "*" no password, "" none asked
	// LastChange is the day the password was last changed; 0 means it must
	// be changed at the next login.
	LastChange int64
	Min, Max   int64 // days the password must and may be kept
	Warn       int64 // days before Max runs out that the user is warned
	Inactive   int64 // days after Max runs out that the password still works
	Expire     int64 // the day the account expires
}

// parsePasswd parses one passwd line.
func parsePasswd(line string) (passwdEntry, error) {
	f := strings.Split(line, ":")
	if len(f) != 7 {
		return passwdEntry{}, fmt.Errorf("parse passwd line: %d fields, want 7", len(f))
	}
	uid, err1 := strconv.ParseUint(f[2], 10, 32)
	gid, err2 := strconv.ParseUint(f[3], 10, 32)
	if err1 != nil || err2 != nil || f[0] == "" {
		return passwdEntry{}, fmt.Errorf("parse passwd line of %q: bad name, uid %q or gid %q", f[0], f[2], f[3])
	}
	return passwdEntry{Name: f[0], Password: f[1], UID: uint32(uid), GID: uint32(gid), Home: f[5], Shell: f[6]}, nil
}

// parseShadow parses one shadow line: nine fields, or the old form of a
// name and a hash alone (as glibc also reads it), whose rules are all off.
func parseShadow(line string) (Shadow, error) {
	f := strings.Split(line, ":")
	if f[0] == "" || (len(f) != 2 && len(f) != 9) {
		return Shadow{}, fmt.Errorf("parse shadow line: %d fields, want 9", len(f))
	}
	s := Shadow{Name: f[0], Hash: f[1], LastChange: -1, Min: -1, Max: -1, Warn: -1, Inactive: -1, Expire: -1}
	if len(f) == 2 {
		return s, nil
	}
	for i, p := range []*int64{&s.LastChange, &s.Min, &s.Max, &s.Warn, &s.Inactive, &s.Expire} {
		v := f[2+i]
		if v == "" {
			continue
		}
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < -1 {
			return Shadow{}, fmt.Errorf("parse shadow line of %q: field %d is %q, want a number of days", s.Name, 3+i, v)
		}
		*p = n
	}
	return s, nil
}

// findLine returns the first line of r whose first colon-separated field
// is name, skipping blank lines, comments and NIS "+"/"-" lines as glibc
// does. found is false when there is none.
func findLine(r io.Reader, name string) (line string, found bool, err error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), 1<<20)
	for sc.Scan() {
		l := sc.Text()
		if l == "" || l[0] == '#' || l[0] == '+' || l[0] == '-' {
			continue
		}
		if n, _, _ := strings.Cut(l, ":"); n == name {
			return l, true, nil
		}
	}
	return "", false, sc.Err()
}
