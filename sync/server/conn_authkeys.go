package server

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/crypto/ssh"
	"golang.org/x/sys/unix"
)

// maxAuthorizedKeys bounds how much of an authorized_keys file is read.
const maxAuthorizedKeys = 1 << 20

// AuthorizedKey is one usable line of an authorized_keys file.
type AuthorizedKey struct {
	Key     ssh.PublicKey
	Options []string
	Line    int
}

// readAuthorizedKeys reads p and checks it the way sshd's StrictModes does:
// the file and every directory from it up to home must belong to the user
// or root and must not be writable by group or others. Like sshd, it reads
// with the user's file-system uid and gid (setfsuid on a thread of its
// own), so the root parent cannot be made to read what the user could not.
func readAuthorizedKeys(p, home string, uid, gid uint32, groups []uint32) ([]byte, error) {
	type result struct {
		b   []byte
		err error
	}
	if os.Geteuid() != 0 {
		return readAuthorizedKeysAs(p, home, uid) // as ourselves: nothing to switch
	}
	ch := make(chan result, 1)
	go func() {
		runtime.LockOSThread() // asUserFS unlocks it once its credentials are back
		var b []byte
		err := asUserFS(uid, gid, groups, func() (err error) {
			b, err = readAuthorizedKeysAs(p, home, uid)
			return err
		})
		ch <- result{b, err}
	}()
	r := <-ch
	return r.b, r.err
}

// asUserFS runs fn on the calling goroutine's locked thread with the
// file-system uid and gid and the groups of a user (the raw setgroups call
// changes this thread only; libc's would change every thread), then puts
// the thread's credentials back and unlocks it. If they cannot be put back
// the thread stays locked, so the runtime throws it away (or, for the main
// thread, parks it for good) and it never serves other code.
func asUserFS(uid, gid uint32, groups []uint32, fn func() error) error {
	n, _, errno := unix.RawSyscall(unix.SYS_GETGROUPS, 0, 0, 0) // how many
	if errno != 0 {
		return fmt.Errorf("read own groups: %w", errno)
	}
	saved := make([]uint32, n+1)
	n, _, errno = unix.RawSyscall(unix.SYS_GETGROUPS, uintptr(len(saved)), uintptr(unsafe.Pointer(&saved[0])), 0)
	if errno != 0 {
		return fmt.Errorf("read own groups: %w", errno)
	}
	saved = saved[:n]
	if err := setGroups(groups); err != nil {
		return fmt.Errorf("drop groups: %w", err)
	}
	unix.Setfsgid(int(gid))
	unix.Setfsuid(int(uid))
	err := fn()
	unix.Setfsuid(os.Geteuid())
	unix.Setfsgid(os.Getegid())
	// setfsuid(-1) changes nothing and returns the current fsuid.
	fsuid, _ := unix.SetfsuidRetUid(-1)
	fsgid, _ := unix.SetfsgidRetGid(-1)
	if setGroups(saved) == nil && fsuid == os.Geteuid() && fsgid == os.Getegid() {
		runtime.UnlockOSThread()
	}
	return err
}

// setGroups sets the supplementary groups of the calling thread only.
func setGroups(groups []uint32) error {
	// The pointer is converted in the call itself, so the slice stays alive
	// for it; no groups is setgroups(0, NULL).
	if _, _, errno := unix.RawSyscall(unix.SYS_SETGROUPS, uintptr(len(groups)), uintptr(unsafe.Pointer(unsafe.SliceData(groups))), 0); errno != 0 {
		return errno
	}
	return nil
}

func readAuthorizedKeysAs(p, home string, uid uint32) ([]byte, error) {
	// O_NONBLOCK: a FIFO in its place must not hang the server.
	f, err := os.OpenFile(p, os.O_RDONLY|syscall.O_NONBLOCK|syscall.O_NOCTTY, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("stat %s: %w", p, err)
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("%s is not a regular file", p)
	}
	if err := secureOwner(p, st, uid); err != nil {
		return nil, err
	}
	real, err := filepath.EvalSymlinks(p)
	if err != nil {
		return nil, fmt.Errorf("resolve %s: %w", p, err)
	}
	if err := secureDirs(path.Dir(real), home, uid); err != nil {
		return nil, err
	}
	b, err := io.ReadAll(io.LimitReader(f, maxAuthorizedKeys))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", p, err)
	}
	return b, nil
}

// secureOwner checks one file or directory for StrictModes.
func secureOwner(p string, st os.FileInfo, uid uint32) error {
	sys, ok := st.Sys().(*syscall.Stat_t)
	if !ok {
		return fmt.Errorf("stat %s: no owner information", p)
	}
	if sys.Uid != uid && sys.Uid != 0 {
		return fmt.Errorf("bad ownership of %s: uid %d, want %d or root", p, sys.Uid, uid)
	}
	if st.Mode().Perm()&0o022 != 0 {
		return fmt.Errorf("bad modes of %s: %#o is writable by group or others", p, st.Mode().Perm())
	}
	return nil
}

// secureDirs walks from dir up to home (inclusive), or to / when dir is not
// below home, checking each directory.
func secureDirs(dir, home string, uid uint32) error {
	home = filepath.Clean(home)
	for {
		st, err := os.Stat(dir)
		if err != nil {
			return fmt.Errorf("stat %s: %w", dir, err)
		}
		if err := secureOwner(dir, st, uid); err != nil {
			return err
		}
		if dir == home || dir == "/" {
			return nil
		}
		dir = path.Dir(dir)
	}
}

// parseAuthorizedKeys parses the lines of an authorized_keys file. Lines that
// do not parse are skipped, as sshd does; their numbers are returned.
func parseAuthorizedKeys(b []byte) (keys []AuthorizedKey, bad []int) {
	for i, line := range bytes.Split(b, []byte("\n")) {
		line = bytes.TrimSpace(line)
		if len(line) == 0 || line[0] == '#' {
			continue
		}
		k, _, opts, _, err := ssh.ParseAuthorizedKey(line)
		if err != nil {
			bad = append(bad, i+1)
			continue
		}
		keys = append(keys, AuthorizedKey{Key: k, Options: opts, Line: i + 1})
	}
	return keys, bad
}

// restrictions are the authorized_keys options the server honours by its
// nature: it never offers a pty, forwarding, agent, X11 or rc files.
var restrictions = map[string]bool{
	"restrict": true, "no-pty": true, "no-port-forwarding": true,
	"no-agent-forwarding": true, "no-x11-forwarding": true, "no-user-rc": true,
}

// forceSFTP is the one forced command the server honours: OpenSSH's
// name for its in-process sftp server, which users write as
// restrict,command="internal-sftp" to confine a key to SFTP.
const forceSFTP = "internal-sftp"

// keyRules are what a key's options ask of the connection beyond what the
// server does anyway.
type keyRules struct {
	// command is the forced command: "" or forceSFTP, which serves sftp
	// for every exec, shell or subsystem request.
	command string
}

// checkOptions decides whether a key with these options may be used from
// addr at time now, and returns what they ask of the connection. Options
// the server does not honour (environment=, permitopen=, principals=,
// cert-authority, tunnel=, a command= other than "internal-sftp", ...) make
// the key unusable: silently ignoring a restriction would grant more than
// its owner meant.
func checkOptions(opts []string, addr net.Addr, now time.Time) (keyRules, error) {
	var r keyRules
	seenCommand := false
	for _, o := range opts {
		name, val, hasVal := strings.Cut(o, "=")
		name = strings.ToLower(name)
		switch {
		case restrictions[name] && !hasVal:
		case name == "command" && hasVal:
			if seenCommand {
				return r, errors.New("more than one command= option")
			}
			seenCommand = true
			cmd, err := parseCommand(val)
			if err != nil {
				return r, err
			}
			r.command = cmd
		case name == "from" && hasVal:
			ok, err := matchFrom(unquote(val), addr)
			if err != nil {
				return r, err
			}
			if !ok {
				return r, fmt.Errorf("from= does not match %s", hostOf(addr))
			}
		case name == "expiry-time" && hasVal:
			t, err := parseExpiry(unquote(val))
			if err != nil {
				return r, err
			}
			if !now.Before(t) {
				return r, fmt.Errorf("key expired at %s", t.Format(time.RFC3339))
			}
		default:
			return r, fmt.Errorf("unsupported option %q", name)
		}
	}
	return r, nil
}

// parseCommand checks a command= option's value (quoted, as sshd
// requires): only "internal-sftp" itself is honoured. With arguments
// (-R for read-only, -u for a umask, ...) it would ask for more than the
// server does, so it is refused like any other command.
func parseCommand(val string) (string, error) {
	if len(val) < 2 || val[0] != '"' || val[len(val)-1] != '"' {
		return "", fmt.Errorf("command=%s is not quoted", val)
	}
	if cmd := unquote(val); cmd != forceSFTP {
		return "", fmt.Errorf("command=%s is not supported: only command=%q", val, forceSFTP)
	}
	return forceSFTP, nil
}

func unquote(s string) string {
	if len(s) >= 2 && s[0] == '"' && s[len(s)-1] == '"' {
		return strings.ReplaceAll(s[1:len(s)-1], `\"`, `"`)
	}
	return s
}

func hostOf(addr net.Addr) string {
	if a, ok := addr.(*net.TCPAddr); ok {
		return a.IP.String()
	}
	h, _, err := net.SplitHostPort(addr.String())
	if err != nil {
		return addr.String()
	}
	return h
}

// matchFrom matches the client address against a from= pattern list:
// addresses with * and ? wildcards, CIDR blocks, and !negations. Host name
// patterns never match, since the server does not resolve names.
func matchFrom(list string, addr net.Addr) (bool, error) {
	ip := net.ParseIP(hostOf(addr))
	if ip == nil {
		return false, fmt.Errorf("from=: client address %q is not an IP", addr)
	}
	matched := false
	for _, p := range strings.Split(list, ",") {
		p = strings.TrimSpace(p)
		neg := strings.HasPrefix(p, "!")
		p = strings.TrimPrefix(p, "!")
		var hit bool
		if strings.Contains(p, "/") {
			_, n, err := net.ParseCIDR(p)
			if err != nil {
				return false, fmt.Errorf("from=: bad CIDR %q", p)
			}
			hit = n.Contains(ip)
		} else {
			hit, _ = path.Match(p, ip.String())
		}
		if hit && neg {
			return false, nil
		}
		matched = matched || hit
	}
	return matched, nil
}

// parseExpiry reads expiry-time's YYYYMMDD[HHMM[SS]] in local time.
func parseExpiry(s string) (time.Time, error) {
	layouts := map[int]string{8: "20060102", 12: "200601021504", 14: "20060102150405"}
	l, ok := layouts[len(s)]
	if _, err := strconv.ParseUint(s, 10, 64); !ok || err != nil {
		return time.Time{}, fmt.Errorf("expiry-time %q: want YYYYMMDD[HHMM[SS]]", s)
	}
	return time.ParseInLocation(l, s, time.Local)
}
