// Package server is the SSH server for the machine's own users.
//
// It is split the way OpenSSH splits sshd and sshd-session. The root parent
// process (Server) only accepts connections: its admission policy (package
// admit) refuses sources (an IPv4 address, an IPv6 /64) that serve a
// penalty or a back-off and connections beyond max_startups, and it starts
// a connection child (the same binary, re-executed, still root) for every
// other one, handing it the socket. The child (ServeConn) sends its
// identification, closes the connection at once when the client's first
// line is not one, does the SSH handshake and authenticates the user
// against the system's accounts and their ~/.ssh/authorized_keys (or PAM),
// reporting every failure and the success, with the user name, to the
// parent over a control socket, so that the back-off holds across
// connections. Then it becomes the user for good: uid, gid and
// supplementary groups on every thread, with no_new_privs and no
// capability left, not even in the bounding set (see harden.go), checked
// in /proc before anything is served (any failure refuses the connection). Only then does it serve the
// connection's sftp sessions, in-process, from a directory handle,
// resolving every path with openat2(RESOLVE_BENEATH) (package sync/rootfs), so that "..",
// absolute paths and symbolic links cannot leave the user's root, and the
// kernel checks every access against the user's ids. No shell and no
// program is ever run: of exec requests, only the checksum and df command
// lines rclone's SFTP backend sends (md5sum, sha1sum, sha256sum of one
// file or of stdin; df -k of one path) are answered, computed in-process
// over the same rooted handle (user_cmdline.go, user_exec.go); every other
// command and shell is refused. The parent never
// opens user files and never speaks SSH. It alone holds the private host
// keys: a child asks it to sign each key exchange's hash (see hostsign.go),
// so a child running as the user can never hand a key to the user.
//
// A file's prefix says which process runs its code:
//
//   - parent_*.go: the root parent (Server, accepting and admission, host
//     keys and signing for children, spawning and reaping children).
//   - conn_*.go: the connection child before the drop, as root
//     (identification, handshake, authentication, account checks, PAM,
//     reading authorized_keys, the drop itself).
//   - user_*.go: the connection child as the user (sessions; SFTP is
//     served by package sync/sftpd over package sync/rootfs).
//   - unlock*.go: the unlock mode (ServeUnlocking), in the root parent
//     while the data volume is locked: members of the admin group
//     ([unlock] admin_group in simplecloud.toml, "sudo" by default) log
//     in with a key and run "unlock"; nothing else is offered, and the
//     passphrases go to a gate (internal/gate) the console shares. The
//     parent speaks SSH only here, before any user file is reachable.
//   - no prefix: what more than one role uses (config, doc), or both ends
//     of one mechanism: harden.go (the parent starts children confined; a
//     child confines itself at the drop) and hostsign.go (the parent signs,
//     the child asks).
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
//	allow_users = ["alice"]       # when set, only these users may log in
//	allow_groups = ["cloud"]      # when set, only members of these groups may log in
//	deny_users = ["backup"]
//	deny_groups = ["nocloud"]
//	password_auth = false         # PAM service "simplecloud"; needs a build with -tags pam
//	shell_check = "login"         # "login", "exists" or "off"
//	use_pam = true                # default true with -tags pam; true without it is an error
//	pam_service = "simplecloud"   # the PAM service of password_auth and use_pam
//	max_auth_tries = 6
//	login_grace_time = "60s"      # to authenticate, from the connection's start
//	kex_timeout = "20s"           # to identify and finish the key exchange
//	backoff_after = 10            # failed logins per source before back-off
//	backoff_max = "5m"
//	backoff_decay = "1m"          # one failed login forgiven per this much time
//	keepalive_interval = "30s"
//	keepalive_count_max = 3
//	idle_timeout = "1h"
//	shutdown_timeout = "30s"
//	max_sessions = 10             # session channels per connection
//	max_request_length = 4096     # bytes of a channel request
//	max_sftp_handles = 1024       # open files and directories per sftp session
//	sftp_umask = 0o022            # cleared from the mode of what sftp clients create
//	max_startups = "20:30:100"    # unauthenticated connections: start:rate:full
//	per_source_max_startups = 10  # unauthenticated connections per source
//	per_source_penalties = "crash:90s authfail:5s noauth:1s grace-exceeded:10s max:10m min:15s"
//	penalty_exempt = []           # addresses and CIDR blocks never penalised
//
// The sync subsystem (simplecloud-sync, user_sync.go) keeps every file it
// replaces or deletes in the user's .simplecloud/versions, thinned and capped
// as the [sync] table of simplecloud.toml says:
//
//	[sync]
//	versions = "staggered"        # or "all": never thinned, only capped
//	versions_cap_percent = 10     # each user's versions, at most this share of the volume
//
// The [replica] table of the same file belongs to simplecloud replica (its
// keys are listed in sync/replica's Config); the server ignores it.
//
// Every login, by key or password, and again just before the drop, is
// refused for an account as OpenSSH's sshd refuses it (allowed_user()):
// one whose shadow entry has expired (usermod -e, chage -E; from the
// expiry day on, as pam_unix counts), whose password is locked (a hash
// starting with "!", as usermod -L and useradd without a password leave
// it, or "*LK*"; "*" has no password and is not locked, so usermod -p '*'
// makes a key-only account), or whose password expired more than the
// shadow entry's inactive days ago (pam_unix's rule). An account with no
// shadow entry (NSS alone) skips these; a shadow file that root cannot
// read refuses every login. shell_check says what the login shell must be
// like: "login" (the default) that it exists, is an executable file and is
// not /usr/sbin/nologin, /sbin/nologin, /bin/false or /usr/bin/false;
// "exists" that it exists and is executable, sshd's own rule, so that
// nologin accounts may use SFTP as with sshd's ForceCommand internal-sftp;
// "off" no check, as sshd when it chroots. A password that must be changed
// (chage -d 0, or older than the maximum age) refuses a password login
// with a message the client shows, and lets a key login in with a warning
// in the log, as sshd without PAM does. With use_pam, key logins also run
// pam_acct_mgmt, and every login runs pam_setcred and pam_open_session
// before the drop; the session is closed when the connection ends, then as
// the user (sshd keeps a root process for that; this server has none), so
// modules that need root to close a session may fail, which is logged at
// debug. Every refusal is logged ("auth refused") with its reason.
//
// umask is the process umask of a connection child after the drop (the
// kernel applies it to everything the child creates); sftp_umask is what
// the SFTP server clears from the mode an SFTP client asks for at OPEN and
// MKDIR (0666 and 0777 when it asks for none), as sftp-server -u does.
// Both apply, so the mask in effect over SFTP is their union: sftp_umask
// can tighten, never loosen, what umask allows. Both default to 022,
// sshd's umask, which gives what OpenSSH's sftp-server gives.
//
// Before authentication the limits are OpenSSH's. A source is an IPv4
// address or an IPv6 /64. max_startups is sshd's MaxStartups: from start
// unauthenticated connections on, a new one is refused at random with a
// chance of rate percent, rising to 100 at full (a plain number N, the old
// form, means N:100:N). Start is twice the per-source cap, so that one
// source alone never makes others' connections fail. per_source_penalties
// is sshd's PerSourcePenalties: a connection that ends before
// authenticating adds to its source's penalty (crash: the child died of a
// signal the server did not send; authfail: attempts failed; noauth: none
// were made; grace-exceeded: kex_timeout or login_grace_time ran out), up
// to max; once more than min is outstanding, the source is refused until
// the penalty has run out. "no" turns penalties off; a subset of the pairs
// changes only those. The back-off counts failed logins per source and user
// name (16 names apart, the rest together), forgiving one per
// backoff_decay; from backoff_after on, the source is refused for 1s,
// doubling with every further failure up to backoff_max; a user's success
// clears only that user's failures. The policy remembers the 65,536
// sources used most recently. Each refused connection is logged once, at
// most 20 lines per 10 seconds; the rest are summed up in one line.
//
// A client's first line must be its SSH identification ("SSH-2.0-" or
// "SSH-1.99-", at most 255 bytes): anything else (an HTTP request, say)
// is answered "Invalid SSH identification string." and closed at once.
// kex_timeout also bounds the time a user may take to accept an unknown
// host key at the client's first connection.
