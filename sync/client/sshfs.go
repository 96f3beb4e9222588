package client

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"simplecloud/sync/client/remote"
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
func SSHFSArgs(remoteArg, mountpoint string, o MountOptions) ([]string, error) {
	user, host, path, err := parseRemote(remoteArg)
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
// HOST; a mount needs the user.
func parseRemote(remoteArg string) (user, host, path string, err error) {
	user, host, path, _, err = remote.Split(remoteArg)
	if err == nil && user == "" {
		err = fmt.Errorf("parse %q: want USER@HOST[:PATH]", remoteArg)
	}
	return user, host, path, err
}
