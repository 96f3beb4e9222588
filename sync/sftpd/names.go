package sftpd

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// idNames maps user and group ids to names, as read from a passwd and a
// group file. Users known only through NSS (LDAP, systemd's dynamic users)
// are not in those files and show as numbers; reading them would need
// cgo's getpwuid, which the static binary does not have.
type idNames struct {
	users, groups map[uint32]string
}

// names returns the session's id names, reading the files at first use
// (once per session: a listing asks for every entry's owner).
func (s *session) idNames() *idNames {
	s.namesOnce.Do(func() {
		s.names = &idNames{users: readIDFile(s.opts.PasswdFile), groups: readIDFile(s.opts.GroupFile)}
	})
	return s.names
}

// readIDFile reads a passwd or group file; a missing or unreadable file
// gives no names.
func readIDFile(path string) map[uint32]string {
	f, err := os.Open(path)
	if err != nil {
		return nil
	}
	defer f.Close()
	return parseIDFile(io.LimitReader(f, 64<<20))
}

// parseIDFile maps the ids (third field) of passwd or group lines
// (name:x:id:...) to names; the first line with an id wins, as getpwuid's
// file lookup, and malformed lines are skipped.
func parseIDFile(r io.Reader) map[uint32]string {
	m := make(map[uint32]string)
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' || line[0] == '+' || line[0] == '-' {
			continue
		}
		f := strings.SplitN(line, ":", 4)
		if len(f) < 4 || f[0] == "" {
			continue
		}
		id, err := strconv.ParseUint(f[2], 10, 32)
		if err != nil {
			continue
		}
		if _, seen := m[uint32(id)]; !seen {
			m[uint32(id)] = f[0]
		}
	}
	return m
}

// user returns uid's name, or "" when unknown.
func (n *idNames) user(uid uint32) string { return n.users[uid] }

// group returns gid's name, or "" when unknown.
func (n *idNames) group(gid uint32) string { return n.groups[gid] }

// longName is the ls -l line of a listing entry, in the format of
// OpenSSH's ls_file (which clients such as sftp's ls -l print as is).
func (s *session) longName(name string, st *unix.Stat_t) string {
	return formatLongName(name, st, s.idNames(), time.Now())
}

// formatLongName formats an ls -l line: mode, links, owner and group
// (names when known, else numbers, at least 8 wide), size, the
// modification time (hour and minute within six months of now, else the
// year) and the name.
func formatLongName(name string, st *unix.Stat_t, n *idNames, now time.Time) string {
	user, group := n.user(st.Uid), n.group(st.Gid)
	if user == "" {
		user = strconv.FormatUint(uint64(st.Uid), 10)
	}
	if group == "" {
		group = strconv.FormatUint(uint64(st.Gid), 10)
	}
	mt := time.Unix(st.Mtim.Sec, 0)
	const halfYear = 365 * 24 * time.Hour / 2
	layout := "Jan _2  2006"
	if mt.After(now.Add(-halfYear)) && mt.Before(now.Add(halfYear)) {
		layout = "Jan _2 15:04"
	}
	return fmt.Sprintf("%s %3d %-8s %-8s %8d %s %s", modeString(st.Mode), st.Nlink, user, group,
		st.Size, mt.Format(layout), name)
}

// modeString is the mode column of ls -l as strmode(3) writes it: type,
// nine permission characters (with setuid, setgid and sticky folded in)
// and a trailing space.
func modeString(m uint32) string {
	b := []byte("?--------- ")
	switch m & unix.S_IFMT {
	case unix.S_IFREG:
		b[0] = '-'
	case unix.S_IFDIR:
		b[0] = 'd'
	case unix.S_IFLNK:
		b[0] = 'l'
	case unix.S_IFCHR:
		b[0] = 'c'
	case unix.S_IFBLK:
		b[0] = 'b'
	case unix.S_IFIFO:
		b[0] = 'p'
	case unix.S_IFSOCK:
		b[0] = 's'
	}
	const rwx = "rwxrwxrwx"
	for i := range 9 {
		if m&(1<<(8-i)) != 0 {
			b[1+i] = rwx[i]
		}
	}
	special := func(pos int, bit uint32, set, unset byte) {
		if m&bit == 0 {
			return
		}
		if b[pos] == '-' {
			b[pos] = unset
		} else {
			b[pos] = set
		}
	}
	special(3, unix.S_ISUID, 's', 'S')
	special(6, unix.S_ISGID, 's', 'S')
	special(9, unix.S_ISVTX, 't', 'T')
	return string(b)
}
