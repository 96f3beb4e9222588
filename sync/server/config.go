package server

import (
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/BurntSushi/toml"
)

// Config is the server's configuration. The zero value of a field means its
// default (see Defaults); the TOML keys are the field names in snake_case.
type Config struct {
	Listen     string `toml:"listen"`       // address to listen on, e.g. ":2222"
	HostKeyDir string `toml:"host_key_dir"` // where the host keys live
	// Root is the directory whose per-user subdirectories (Root/USER) the
	// users see as "/". When Root is empty, users see their home directory.
	Root  string `toml:"root"`
	Umask uint32 `toml:"umask"` // umask of session children (default 022)

	PermitRoot  bool     `toml:"permit_root"` // let root log in (refused by default)
	AllowUsers  []string `toml:"allow_users"` // when set, only these users may log in
	DenyUsers   []string `toml:"deny_users"`
	AllowGroups []string `toml:"allow_groups"` // when set, only members of these groups may log in
	DenyGroups  []string `toml:"deny_groups"`
	// PasswordAuth lets users log in with their system password through
	// PAM (service PAMService), as "password" and "keyboard-interactive".
	// Off by default; only a binary built with -tags pam supports it.
	PasswordAuth bool `toml:"password_auth"`
	// ShellCheck is what the login shell must be like: ShellLogin
	// (default), ShellExists or ShellOff (see accountRefusal).
	ShellCheck string `toml:"shell_check"`
	// UsePAM runs PAM's account and session phases (service PAMService)
	// for every login, key logins too, as sshd's UsePAM does. Nil means
	// the default: on in a build with PAM, which alone supports it.
	UsePAM *bool `toml:"use_pam"`
	// PAMService is the PAM service (default PAMService).
	PAMService string `toml:"pam_service"`

	MaxAuthTries     int           `toml:"max_auth_tries"`     // failed attempts per connection
	LoginGraceTime   time.Duration `toml:"login_grace_time"`   // time to finish authentication
	KexTimeout       time.Duration `toml:"kex_timeout"`        // time to identify and finish the key exchange
	BackoffAfter     int           `toml:"backoff_after"`      // failures per source before back-off
	BackoffMax       time.Duration `toml:"backoff_max"`        // longest back-off
	BackoffDecay     time.Duration `toml:"backoff_decay"`      // one failure forgiven per this much time
	KeepAlive        time.Duration `toml:"keepalive_interval"` // keepalive request interval
	KeepAliveMax     int           `toml:"keepalive_count_max"`
	IdleTimeout      time.Duration `toml:"idle_timeout"` // close connections without channel traffic for this long; 0 is never
	ShutdownTimeout  time.Duration `toml:"shutdown_timeout"`
	MaxSessions      int           `toml:"max_sessions"`       // session channels per connection
	MaxPacketRequest int           `toml:"max_request_length"` // bytes of a channel request payload
	// MaxSFTPHandles bounds the files and directories one SFTP session
	// holds open; past it opens fail with "too many open handles".
	MaxSFTPHandles int `toml:"max_sftp_handles"`
	// SFTPUmask is cleared from the mode of every file and directory an
	// SFTP client creates, as sftp-server -u does (nil: 022).
	SFTPUmask *uint32 `toml:"sftp_umask"`
	// Sync is the [sync] table of simplecloud.toml (see SyncConfig).
	Sync SyncConfig `toml:"-"`

	// Pre-authentication limits (parent_limits.go): unauthenticated connections
	// at once, in all and per source (an IPv4 address or IPv6 /64), and
	// penalties for sources whose connections end without authenticating.
	MaxStartups          Startups `toml:"max_startups"`
	PerSourceMaxStartups int      `toml:"per_source_max_startups"`
	PerSourcePenalties   string   `toml:"per_source_penalties"` // sshd's syntax; "" is its defaults
	PenaltyExempt        []string `toml:"penalty_exempt"`       // addresses and CIDR blocks never penalised
}

// Defaults returns c with every unset field set to its default.
func (c Config) Defaults() Config {
	setDefault(&c.Listen, ":2222")
	setDefault(&c.HostKeyDir, "/etc/simplecloud/hostkeys")
	setDefault(&c.ShellCheck, ShellLogin)
	setDefault(&c.PAMService, PAMService)
	if c.UsePAM == nil {
		v := PasswordAuthSupported
		c.UsePAM = &v
	}
	if c.Umask == 0 {
		c.Umask = 0o022
	}
	setDefault(&c.MaxAuthTries, 6)
	setDefault(&c.LoginGraceTime, 60*time.Second)
	setDefault(&c.KexTimeout, 20*time.Second)
	setDefault(&c.BackoffAfter, 10)
	setDefault(&c.BackoffMax, 5*time.Minute)
	setDefault(&c.BackoffDecay, time.Minute)
	setDefault(&c.KeepAlive, 30*time.Second)
	setDefault(&c.KeepAliveMax, 3)
	setDefault(&c.ShutdownTimeout, 30*time.Second)
	setDefault(&c.MaxSessions, 10)
	setDefault(&c.MaxPacketRequest, 4096)
	// OpenSSH's sftp-server has no limit of its own: its descriptors are
	// bounded by RLIMIT_NOFILE, whose soft limit is 1,024 on most systems
	// (systemd's default), and it advertises that less 5 as its
	// max-open-handles. Clients (sftp, sshfs, rclone) hold a few.
	setDefault(&c.MaxSFTPHandles, 1024)
	if c.MaxStartups == (Startups{}) {
		c.MaxStartups = defaultStartups
	}
	setDefault(&c.PerSourceMaxStartups, 10)
	return c
}

// setDefault sets *p to v when *p is the zero value (unset).
func setDefault[T comparable](p *T, v T) {
	var zero T
	if *p == zero {
		*p = v
	}
}

// otherSections are the tables of simplecloud.toml that belong to the
// installer, the unlock prompt and the replica (sync/replica), not to the server.
var otherSections = map[string]bool{"volume": true, "unlock": true, "replica": true}

// LoadConfig reads a TOML configuration file: either SimpleCloud's one
// configuration file (/etc/simplecloud/simplecloud.toml), whose [server]
// table holds the server's settings, or a file of server settings alone.
// Unknown keys are an error, so that a misspelt setting is never silently
// ignored.
func LoadConfig(path string) (Config, error) {
	var c Config
	b, err := os.ReadFile(path)
	if err != nil {
		return c, fmt.Errorf("read config: %w", err)
	}
	var whole struct {
		Server Config     `toml:"server"`
		Sync   SyncConfig `toml:"sync"`
	}
	md, err := toml.Decode(string(b), &whole)
	if err != nil {
		return c, fmt.Errorf("parse config %s: %w", path, err)
	}
	if md.IsDefined("server") {
		for _, k := range md.Undecoded() {
			if !otherSections[k[0]] {
				return c, fmt.Errorf("parse config %s: unknown key %q", path, k.String())
			}
		}
		if md.IsDefined("sync") {
			whole.Server.Sync = whole.Sync
		}
		return whole.Server, nil
	}
	md, err = toml.Decode(string(b), &c)
	if err != nil {
		return c, fmt.Errorf("parse config %s: %w", path, err)
	}
	if und := md.Undecoded(); len(und) > 0 {
		return c, fmt.Errorf("parse config %s: unknown key %q", path, und[0].String())
	}
	return c, nil
}

// Validate reports settings that cannot work.
func (c Config) Validate() error {
	if c.Umask > 0o777 {
		return fmt.Errorf("umask %#o: want at most 0777", c.Umask)
	}
	if c.MaxSessions < 0 || c.PerSourceMaxStartups < 0 || c.BackoffAfter < 0 {
		return errors.New("max_sessions, per_source_max_startups and backoff_after must not be negative")
	}
	if _, err := c.admitConfig(); err != nil {
		return err
	}
	if c.MaxSFTPHandles < 0 {
		return errors.New("max_sftp_handles must not be negative")
	}
	if c.SFTPUmask != nil && *c.SFTPUmask > 0o777 {
		return fmt.Errorf("sftp_umask %#o: want at most 0777", *c.SFTPUmask)
	}
	if err := c.Sync.validate(); err != nil {
		return err
	}
	if c.PasswordAuth && !PasswordAuthSupported {
		return errNoPAM
	}
	if c.UsePAM != nil && *c.UsePAM && !PasswordAuthSupported {
		return errNoPAMAccount
	}
	switch c.ShellCheck {
	case "", ShellLogin, ShellExists, ShellOff:
	default:
		return fmt.Errorf("shell_check %q: want %q, %q or %q", c.ShellCheck, ShellLogin, ShellExists, ShellOff)
	}
	return nil
}
