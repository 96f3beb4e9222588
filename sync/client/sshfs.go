package client

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// SSHFSDefaults are the sshfs -o options every stream mount gets. They keep
// a mount usable across network trouble and give reasonable caching:
// reconnect with keepalives (ssh gives up after about 45 s of silence and
// sshfs dials again), a directory cache, and file contents cached until the
// server's mtime changes.
var SSHFSDefaults = []string{
	"reconnect", "ServerAliveInterval=15", "ServerAliveCountMax=3",
	"dir_cache=yes", "dcache_timeout=20", "auto_cache", "idmap=user",
}

// MountOptions are what `simplecloud mount` passes on to sshfs besides the
// defaults.
type MountOptions struct {
	Port     int      // server port; 0: ssh's default
	Identity string   // private key file; empty: ssh's choice
	Options  []string // more sshfs or ssh -o options, after the defaults
}

// SSHFSArgs returns sshfs's arguments that mount remote, USER@HOST[:PATH]
// (HOST may be a bracketed IPv6 address), at mountpoint in stream mode. It
// refuses a host or mount point that sshfs would take for an option.
func SSHFSArgs(remote, mountpoint string, o MountOptions) ([]string, error) {
	user, host, path, err := parseRemote(remote)
	if err != nil {
		return nil, err
	}
	if mountpoint == "" || strings.HasPrefix(mountpoint, "-") {
		return nil, errors.New("mount point must not be empty or start with -")
	}
	if o.Port < 0 || o.Port > 65535 {
		return nil, fmt.Errorf("port %d out of range", o.Port)
	}
	opts := append([]string(nil), SSHFSDefaults...)
	if o.Identity != "" {
		opts = append(opts, "IdentityFile="+o.Identity, "IdentitiesOnly=yes")
	}
	opts = append(opts, o.Options...)
	argv := []string{user + "@" + host + ":" + path, mountpoint, "-o", strings.Join(opts, ",")}
	if o.Port != 0 {
		argv = append(argv, "-p", strconv.Itoa(o.Port))
	}
	return argv, nil
}

// parseRemote splits USER@HOST[:PATH], keeping the brackets of an IPv6
// HOST.
func parseRemote(remote string) (user, host, path string, err error) {
	user, hostPath, ok := strings.Cut(remote, "@")
	if !ok || user == "" || strings.ContainsAny(user, ":/") {
		return "", "", "", fmt.Errorf("parse %q: want USER@HOST[:PATH]", remote)
	}
	host = hostPath
	if strings.HasPrefix(hostPath, "[") {
		end := strings.Index(hostPath, "]")
		if end < 0 {
			return "", "", "", fmt.Errorf("parse %q: unclosed [ in host", remote)
		}
		host = hostPath[:end+1]
		rest := hostPath[end+1:]
		if rest != "" && !strings.HasPrefix(rest, ":") {
			return "", "", "", fmt.Errorf("parse %q: want USER@[ADDR][:PATH]", remote)
		}
		path = strings.TrimPrefix(rest, ":")
	} else if h, p, ok := strings.Cut(hostPath, ":"); ok {
		host, path = h, p
	}
	if host == "" || host == "[]" || strings.HasPrefix(host, "-") {
		return "", "", "", fmt.Errorf("parse %q: empty or bad host", remote)
	}
	return user, host, path, nil
}
