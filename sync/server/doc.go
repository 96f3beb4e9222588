// Package server is the SSH server for the machine's own users.
//
// The root parent process (Server) accepts connections, authenticates users
// against the system's accounts and their ~/.ssh/authorized_keys, and for
// every session channel that asks for the sftp subsystem starts a child
// process (the same binary, re-executed) with the user's uid, gid and
// supplementary groups. The parent only copies the channel's bytes to and
// from the child over an inherited socket; it never opens user files. The
// child (ServeSFTP) serves SFTP from a directory handle, resolving every
// path with openat2(RESOLVE_BENEATH), so that "..", absolute paths and
// symbolic links cannot leave the user's root.
package server

// `simplecloud serve --config F` reads the [server] table of SimpleCloud's
// configuration file (/etc/simplecloud/simplecloud.toml, which the
// installer writes and the service passes), or a file of these keys alone.
// Every key is optional; flags given on the command line win:
//
//	[server]
//	listen = ":2222"
//	host_key_dir = "/etc/simplecloud/hostkeys"
//	root = "/srv/data"            # users see /srv/data/USER; "" = home directories
//	umask = 0o022
//	permit_root = false
//	allow_groups = ["cloud"]
//	deny_users = ["backup"]
//	password_auth = false         # PAM service "simplecloud"; needs a build with -tags pam
//	max_auth_tries = 6
//	login_grace_time = "60s"
//	backoff_after = 10            # failed attempts per address before back-off
//	backoff_max = "5m"
//	keepalive_interval = "30s"
//	keepalive_count_max = 3
//	idle_timeout = "1h"
//	shutdown_timeout = "30s"
//	max_sessions = 10             # session channels per connection
//	max_startups = 100            # unauthenticated connections at once
//	max_request_length = 4096     # bytes of a channel request
