package replica

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParseSource(t *testing.T) {
	cases := []struct {
		in, want, err string
	}{
		{"alice", "alice", ""},
		{"alice:Documents", "alice:Documents", ""},
		{"alice:/Documents/2024/", "alice:Documents/2024", ""},
		{"alice:", "alice", ""},
		{"", "", "want USER"},
		{"a/b", "", "want USER"},
		{"alice:../bob", "", "inside the user's tree"},
		{"alice:a/./b", "", "inside the user's tree"},
	}
	for _, c := range cases {
		t.Run(c.in, func(t *testing.T) {
			got, err := ParseSource(c.in)
			if c.err != "" {
				if err == nil || !strings.Contains(err.Error(), c.err) {
					t.Fatalf("got %v, want an error with %q", err, c.err)
				}
				return
			}
			if err != nil || got.String() != c.want {
				t.Fatalf("got %q, %v; want %q", got, err, c.want)
			}
		})
	}
}

func TestLoadConfig(t *testing.T) {
	write := func(t *testing.T, text string) string {
		p := filepath.Join(t.TempDir(), "simplecloud.toml")
		if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	full := "[server]\nroot = \"/srv/users\"\nlisten = \":22\"\n[replica]\nendpoint = \"http://127.0.0.1:7480\"\nbucket = \"b\"\ncredentials_file = \"/c\"\nkey = \"0123456789abcdef\"\nsources = [\"alice\", \"bob:Docs\"]\n"
	c, err := LoadConfig(write(t, full))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	if c.ServerRoot != "/srv/users" || c.Region != "us-east-1" || c.Uploads != 16 || c.StateDir != "/var/lib/simplecloud/replica" {
		t.Fatalf("got %+v, want [server] root and the defaults", c)
	}
	cases := []struct{ name, text, err string }{
		{"misspelt key", "[replica]\nbuckets = \"b\"\n", `unknown key "replica.buckets"`},
		{"no table", "[server]\nlisten = \":22\"\n", "no [replica] table"},
	}
	for _, cs := range cases {
		t.Run(cs.name, func(t *testing.T) {
			if _, err := LoadConfig(write(t, cs.text)); err == nil || !strings.Contains(err.Error(), cs.err) {
				t.Fatalf("got %v, want %q", err, cs.err)
			}
		})
	}
	for _, cs := range []struct {
		name string
		edit func(*Config)
		err  string
	}{
		{"missing", func(c *Config) { c.Bucket, c.Key = "", "" }, "set bucket, key"},
		{"no sources", func(c *Config) { c.Sources = nil }, "sources is empty"},
		{"bad source", func(c *Config) { c.Sources = []string{"a:.."} }, "inside the user's tree"},
	} {
		t.Run(cs.name, func(t *testing.T) {
			d := c
			cs.edit(&d)
			if err := d.Validate(); err == nil || !strings.Contains(err.Error(), cs.err) {
				t.Fatalf("got %v, want %q", err, cs.err)
			}
		})
	}
}

func TestReadCredentials(t *testing.T) {
	p := filepath.Join(t.TempDir(), "creds")
	os.WriteFile(p, []byte("access_key = \"AK\"\nsecret_key = \"very-secret\"\n"), 0o640)
	if _, _, err := ReadCredentials(p); err == nil || !strings.Contains(err.Error(), "want 0600") {
		t.Fatalf("group-readable: got %v, want a refusal", err)
	}
	os.Chmod(p, 0o600)
	if a, s, err := ReadCredentials(p); err != nil || a != "AK" || s != "very-secret" {
		t.Fatalf("got %q %q %v", a, s, err)
	}
	os.WriteFile(p, []byte("secret_key = \"very-secret\n"), 0o600)
	if _, _, err := ReadCredentials(p); err == nil || strings.Contains(err.Error(), "very-secret") {
		t.Fatalf("bad file: got %v, want an error that does not quote the secret", err)
	}
}
