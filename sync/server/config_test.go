package server

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestLoadConfig(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name, body, wantErr string
		check               func(Config) bool
	}{
		{"full", `listen = "127.0.0.1:22"
root = "/srv/data"
umask = 0o027
allow_groups = ["cloud"]
idle_timeout = "1h"
max_auth_tries = 3
password_auth = true
`, "", func(c Config) bool {
			return c.Listen == "127.0.0.1:22" && c.Root == "/srv/data" && c.Umask == 0o027 &&
				c.AllowGroups[0] == "cloud" && c.IdleTimeout == time.Hour && c.MaxAuthTries == 3 &&
				c.PasswordAuth
		}},
		{"defaults fill the rest", `listen = ":2200"`, "", func(c Config) bool {
			d := c.Defaults()
			return d.MaxAuthTries == 6 && d.KeepAlive == 30*time.Second && d.Umask == 0o022 && d.Listen == ":2200"
		}},
		{"max_sftp_handles", `max_sftp_handles = 16`, "", func(c Config) bool {
			return c.Defaults().MaxSFTPHandles == 16 && (Config{}).Defaults().MaxSFTPHandles == 1024 &&
				(Config{MaxSFTPHandles: -1}).Validate() != nil
		}},
		{"sftp_umask", `sftp_umask = 0o077`, "", func(c Config) bool {
			return c.sftpOptions().Umask == 0o077 && (Config{}).sftpOptions().Umask == 0o022 && c.Validate() == nil
		}},
		{"sftp_umask 0", `sftp_umask = 0`, "", func(c Config) bool {
			return c.Defaults().sftpOptions().Umask == 0
		}},
		{"sftp_umask too big", `sftp_umask = 0o1000`, "", func(c Config) bool {
			return c.Validate() != nil
		}},
		{"misspelt key", `max_auth_trys = 3`, `unknown key "max_auth_trys"`, nil},
		{"durations", "login_grace_time = \"60s\"\nbackoff_max = \"1h30m\"\n", "", func(c Config) bool {
			return c.LoginGraceTime == time.Minute && c.BackoffMax == 90*time.Minute
		}},
		{"bad duration", `idle_timeout = "soon"`, "idle_timeout", nil},
		{"bad toml", `listen = `, "parse config", nil},
		{"simplecloud.toml", `[volume]
uuid = "0f2c1e7a-5b3d-4c8e-9a1f-2b3c4d5e6f70"
mount = "/srv/simplecloud"

[unlock]
tries = 3

[replica]
bucket = "b"

[server]
listen = ":2200"
allow_users = ["alice"]
`, "", func(c Config) bool {
			return c.Listen == ":2200" && len(c.AllowUsers) == 1 && c.AllowUsers[0] == "alice"
		}},
		{"simplecloud.toml, misspelt server key", "[volume]\nuuid = \"x\"\n[server]\nlisten = \":1\"\nallow_user = [\"a\"]\n",
			`unknown key "server.allow_user"`, nil},
		{"simplecloud.toml, unknown table", "[server]\nlisten = \":1\"\n[srever]\nx = 1\n", `unknown key "srever`, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := filepath.Join(dir, tc.name+".toml")
			os.WriteFile(p, []byte(tc.body), 0o644)
			c, err := LoadConfig(p)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("got %v, want an error containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil || !tc.check(c) {
				t.Fatalf("got %+v, %v", c, err)
			}
		})
	}
}

// TestConfigJSON checks that a Config survives the JSON of the connection
// child's setup unchanged (durations travel as nanoseconds).
func TestConfigJSON(t *testing.T) {
	want := Config{LoginGraceTime: 90 * time.Second, IdleTimeout: time.Hour}.Defaults()
	b, err := json.Marshal(want)
	if err != nil {
		t.Fatal(err)
	}
	var got Config
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v, want %+v", got, want)
	}
}

func TestSyncTable(t *testing.T) {
	dir := t.TempDir()
	for _, tt := range []struct {
		toml string
		ok   bool
		want SyncConfig
	}{
		{"[server]\nlisten = \":22\"\n[sync]\nversions = \"all\"\nversions_cap_percent = 5\n", true, SyncConfig{Versions: "all", VersionsCapPercent: 5}},
		{"[server]\n[sync]\nversions = \"some\"\n", false, SyncConfig{}},
		{"[server]\n[sync]\nversions_cap_percent = 101\n", false, SyncConfig{}},
		{"[server]\n[sync]\nversion = \"all\"\n", false, SyncConfig{}},
	} {
		p := filepath.Join(dir, "c.toml")
		os.WriteFile(p, []byte(tt.toml), 0o600)
		c, err := LoadConfig(p)
		if err == nil {
			err = c.Validate()
		}
		if (err == nil) != tt.ok || (tt.ok && c.Sync != tt.want) {
			t.Errorf("%q: got %+v, %v; want ok %v %+v", tt.toml, c.Sync, err, tt.ok, tt.want)
		}
	}
}
