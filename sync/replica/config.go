package replica

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/BurntSushi/toml"
)

// Config is the [replica] table of simplecloud.toml (the server's
// configuration file; sync/server ignores this table):
//
//	[replica]
//	endpoint = "https://s3.example.com"   # the S3 service (http:// for a local Ceph RGW)
//	bucket = "simplecloud-replica"         # made on the first run if missing
//	region = "us-east-1"                   # the default
//	credentials_file = "/etc/simplecloud/replica-credentials"  # access_key and secret_key, mode 0600
//	key = "324ddbbc7f47cd8e"               # id of a folder key (simplecloud key new, as root)
//	key_dir = ""                           # where the key is; "": root's ~/.config/simplecloud/keys
//	state_dir = "/var/lib/simplecloud/replica"  # the list of chunks the bucket holds
//	sources = ["alice", "bob:Documents"]   # users' whole trees, or one folder of a user's tree
//	uploads = 16                           # chunks uploaded at once
//
// A user's whole tree leaves out its .simplecloud directory (versions and
// node records), as every scan does; name "alice:.simplecloud/versions" as
// a source of its own to keep the versions too. 16 uploads at once took
// the bench's first run from 1m59s to 1m22s on this loaded 2-core machine
// (10,000 files and 1 GiB into a local Ceph RGW; small PUTs wait on the
// OSD, not on the CPU).
//
// The credentials file is TOML with two keys, so the secret is never in
// argv, the environment or a log:
//
//	access_key = "..."
//	secret_key = "..."
type Config struct {
	Endpoint        string   `toml:"endpoint"`
	Bucket          string   `toml:"bucket"`
	Region          string   `toml:"region"`
	CredentialsFile string   `toml:"credentials_file"`
	Key             string   `toml:"key"`
	KeyDir          string   `toml:"key_dir"`
	StateDir        string   `toml:"state_dir"`
	Sources         []string `toml:"sources"`
	Uploads         int      `toml:"uploads"`
	// ServerRoot is [server] root of the same file: users' trees are
	// ServerRoot/USER when it is set, their home directories otherwise.
	ServerRoot string `toml:"-"`
}

// Defaults returns c with every unset field set to its default.
func (c Config) Defaults() Config {
	if c.Region == "" {
		c.Region = "us-east-1"
	}
	if c.StateDir == "" {
		c.StateDir = "/var/lib/simplecloud/replica"
	}
	if c.Uploads == 0 {
		c.Uploads = 16
	}
	return c
}

// Validate reports settings that cannot work.
func (c Config) Validate() error {
	var missing []string
	for _, f := range []struct{ name, v string }{{"endpoint", c.Endpoint}, {"bucket", c.Bucket}, {"credentials_file", c.CredentialsFile}, {"key", c.Key}} {
		if f.v == "" {
			missing = append(missing, f.name)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("[replica]: set %s", strings.Join(missing, ", "))
	}
	if len(c.Sources) == 0 {
		return errors.New("[replica]: sources is empty: name the users (\"alice\") or folders (\"alice:Documents\") to replicate")
	}
	for _, s := range c.Sources {
		if _, err := ParseSource(s); err != nil {
			return fmt.Errorf("[replica] sources: %w", err)
		}
	}
	if c.Uploads < 0 {
		return errors.New("[replica] uploads must not be negative")
	}
	return nil
}

// SourceName is a parsed source: a user and, optionally, a folder of the
// user's tree (slash-separated, relative).
type SourceName struct{ User, Folder string }

// ParseSource parses "USER" or "USER:FOLDER".
func ParseSource(s string) (SourceName, error) {
	user, folder, _ := strings.Cut(s, ":")
	folder = strings.Trim(folder, "/")
	if user == "" || strings.ContainsAny(user, "/:") {
		return SourceName{}, fmt.Errorf("%q: want USER or USER:FOLDER", s)
	}
	for _, part := range strings.Split(folder, "/") {
		if part == "." || part == ".." {
			return SourceName{}, fmt.Errorf("%q: the folder must be a path inside the user's tree", s)
		}
	}
	return SourceName{User: user, Folder: folder}, nil
}

// String is the source's tree name in a snapshot.
func (s SourceName) String() string {
	if s.Folder == "" {
		return s.User
	}
	return s.User + ":" + s.Folder
}

// LoadConfig reads the [replica] table of the TOML file at path. Unknown
// keys in the table are an error; other tables are not this package's.
func LoadConfig(path string) (Config, error) {
	var whole struct {
		Replica Config `toml:"replica"`
		Server  struct {
			Root string `toml:"root"`
		} `toml:"server"`
	}
	md, err := toml.DecodeFile(path, &whole)
	if err != nil {
		return Config{}, fmt.Errorf("parse config %s: %w", path, err)
	}
	if !md.IsDefined("replica") {
		return Config{}, fmt.Errorf("config %s has no [replica] table", path)
	}
	for _, k := range md.Undecoded() {
		if k[0] == "replica" {
			return Config{}, fmt.Errorf("parse config %s: unknown key %q", path, k.String())
		}
	}
	c := whole.Replica.Defaults()
	c.ServerRoot = whole.Server.Root
	return c, nil
}

// ReadCredentials reads a credentials file: TOML with access_key and
// secret_key. A file that others than its owner may read is refused.
func ReadCredentials(path string) (access, secret string, err error) {
	fi, err := os.Stat(path)
	if err != nil {
		return "", "", fmt.Errorf("read credentials: %w", err)
	}
	if fi.Mode().Perm()&0o077 != 0 {
		return "", "", fmt.Errorf("read credentials: %s has mode %#o: want 0600 (chmod 600 %s)", path, fi.Mode().Perm(), path)
	}
	var c struct {
		AccessKey string `toml:"access_key"`
		SecretKey string `toml:"secret_key"`
	}
	md, err := toml.DecodeFile(path, &c)
	if err != nil {
		// The parser's message may quote the file's text: leave it out.
		return "", "", fmt.Errorf("read credentials %s: not TOML with access_key and secret_key", path)
	}
	if und := md.Undecoded(); len(und) > 0 {
		return "", "", fmt.Errorf("read credentials %s: unknown key %q", path, und[0].String())
	}
	if c.AccessKey == "" || c.SecretKey == "" {
		return "", "", fmt.Errorf("read credentials %s: set access_key and secret_key", path)
	}
	return c.AccessKey, c.SecretKey, nil
}
