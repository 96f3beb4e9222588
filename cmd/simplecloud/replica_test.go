package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"simplecloud/internal/testutil"
	"simplecloud/sync/replica"
	"simplecloud/sync/seal"
	"simplecloud/sync/seal/keystore"
)

// ceph is the real S3 engine of the replica command's test.
var ceph = &testutil.Ceph{Dir: "/tmp/s3-cmdrep", S3Port: "7482", MonPort: "3302"}

func runReplicaCLI(args ...string) (code int, stdout, stderr string) {
	var out, errb bytes.Buffer
	code = run(append([]string{"--log-level", "debug", "replica"}, args...), strings.NewReader(""), &out, &errb)
	return code, out.String(), errb.String()
}

// TestReplicaCLI drives replica run, list, verify and restore as an
// administrator would, from a simplecloud.toml against a real Ceph RGW.
func TestReplicaCLI(t *testing.T) {
	env := ceph.Up(t)
	dir := t.TempDir()
	root := filepath.Join(dir, "users")
	docs := filepath.Join(root, "alice", "docs")
	if err := os.MkdirAll(filepath.Join(docs, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(docs, "plan-of-alice.txt"), []byte("meet at the old mill at noon\n"), 0o640)
	os.WriteFile(filepath.Join(docs, "sub", "notes.md"), []byte("nothing much"), 0o600)
	os.WriteFile(filepath.Join(root, "alice", "outside.txt"), []byte("not replicated"), 0o600)
	versions := filepath.Join(root, "alice", ".simplecloud", "versions", "docs")
	os.MkdirAll(versions, 0o700)
	os.WriteFile(filepath.Join(versions, "plan-of-alice.txt.v1"), []byte("meet at the bridge\n"), 0o600)

	k, err := seal.Generate(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	keys := filepath.Join(dir, "keys")
	if _, _, err := (keystore.Store{Dir: keys}).Save(k); err != nil {
		t.Fatal(err)
	}
	creds := filepath.Join(dir, "creds")
	secret := env["AWS_SECRET_ACCESS_KEY"]
	os.WriteFile(creds, fmt.Appendf(nil, "access_key = %q\nsecret_key = %q\n", env["AWS_ACCESS_KEY_ID"], secret), 0o644)
	var rnd [6]byte
	rand.Read(rnd[:])
	bucket := "cli-" + hex.EncodeToString(rnd[:])
	cfg := filepath.Join(dir, "simplecloud.toml")
	os.WriteFile(cfg, fmt.Appendf(nil, `[server]
root = %q

[replica]
endpoint = %q
bucket = %q
credentials_file = %q
key = %q
key_dir = %q
state_dir = %q
sources = ["alice:docs", "alice:.simplecloud/versions"]
`, root, env["AWS_ENDPOINT_URL"], bucket, creds, k.ID(), keys, filepath.Join(dir, "state")), 0o600)

	testutil.Step(t, "a credentials file others may read is refused", func(t *testing.T) {
		code, _, stderr := runReplicaCLI("--config", cfg, "run")
		if code != exitError || !strings.Contains(stderr, "want 0600") {
			t.Fatalf("got exit %d, stderr %q; want 1 and a mode complaint", code, stderr)
		}
		os.Chmod(creds, 0o600)
	})
	var snap string
	testutil.Step(t, "run, list, verify", func(t *testing.T) {
		code, stdout, stderr := runReplicaCLI("--config", cfg, "run")
		if code != 0 || !strings.Contains(stdout, "3 files (3 read") {
			t.Fatalf("run: exit %d, stdout %q, stderr %q", code, stdout, stderr)
		}
		if strings.Contains(stderr, secret) {
			t.Fatal("the secret key is in the log")
		}
		code, stdout, _ = runReplicaCLI("--config", cfg, "run")
		if code != 0 || !strings.Contains(stdout, "(0 read, 3 unchanged), 0 chunks uploaded") {
			t.Fatalf("second run: exit %d, stdout %q", code, stdout)
		}
		code, stdout, _ = runReplicaCLI("--config", cfg, "list")
		ids := strings.Fields(stdout)
		if code != 0 || len(ids) != 2 {
			t.Fatalf("list: exit %d, stdout %q; want 2 snapshots", code, stdout)
		}
		snap = ids[1]
		code, stdout, stderr = runReplicaCLI("--config", cfg, "verify")
		if code != 0 || !strings.Contains(stdout, "every object authenticates") {
			t.Fatalf("verify: exit %d, stdout %q, stderr %q", code, stdout, stderr)
		}
	})
	testutil.Step(t, "restore into an empty directory, refuse a non-empty one", func(t *testing.T) {
		to := filepath.Join(dir, "restored")
		code, _, stderr := runReplicaCLI("--config", cfg, "restore", "--snapshot", snap, "--to", to, "alice")
		if code != 0 {
			t.Fatalf("restore: exit %d, stderr %q", code, stderr)
		}
		got, err := os.ReadFile(filepath.Join(to, "alice", "docs", "plan-of-alice.txt"))
		if err != nil || string(got) != "meet at the old mill at noon\n" {
			t.Fatalf("restored file: %q, %v", got, err)
		}
		if fi, err := os.Stat(filepath.Join(to, "alice", "docs", "sub", "notes.md")); err != nil || fi.Mode().Perm() != 0o600 {
			t.Fatalf("restored notes.md: %v, %v; want mode 0600", fi, err)
		}
		got, err = os.ReadFile(filepath.Join(to, "alice", ".simplecloud", "versions", "docs", "plan-of-alice.txt.v1"))
		if err != nil || string(got) != "meet at the bridge\n" {
			t.Fatalf("restored version: %q, %v", got, err)
		}
		if _, err := os.Stat(filepath.Join(to, "alice", "outside.txt")); err == nil {
			t.Fatal("a file outside the configured folder was restored")
		}
		code, _, stderr = runReplicaCLI("--config", cfg, "restore", "--to", to, "alice:docs")
		if code != exitError || !strings.Contains(stderr, "not empty") {
			t.Fatalf("restore over a tree: exit %d, stderr %q; want 1 and \"not empty\"", code, stderr)
		}
		if code, _, stderr = runReplicaCLI("--config", cfg, "restore", "--force", "--to", to, "alice:docs"); code != 0 {
			t.Fatalf("restore --force: exit %d, stderr %q", code, stderr)
		}
	})
	testutil.Step(t, "prune keeps this hour's snapshots and leaves no lock", func(t *testing.T) {
		code, stdout, stderr := runReplicaCLI("--config", cfg, "prune", "--dry-run")
		if code != 0 || !strings.Contains(stdout, "would delete 0 of 2 snapshots and 0 of ") || !strings.Contains(stdout, "Nothing was deleted") {
			t.Fatalf("prune --dry-run: exit %d, stdout %q, stderr %q", code, stdout, stderr)
		}
		code, stdout, stderr = runReplicaCLI("--config", cfg, "prune")
		if code != 0 || !strings.Contains(stdout, "deleted 0 of 2 snapshots and 0 of ") {
			t.Fatalf("prune: exit %d, stdout %q, stderr %q", code, stdout, stderr)
		}
		code, stdout, _ = runReplicaCLI("--config", cfg, "list")
		if code != 0 || len(strings.Fields(stdout)) != 2 {
			t.Fatalf("list after prune: exit %d, stdout %q; want both snapshots", code, stdout)
		}
	})
	testutil.Step(t, "verify names a changed object and exits 1", func(t *testing.T) {
		s3, err := replica.NewS3(replica.S3Options{Endpoint: env["AWS_ENDPOINT_URL"], Bucket: bucket,
			AccessKey: env["AWS_ACCESS_KEY_ID"], SecretKey: secret})
		if err != nil {
			t.Fatal(err)
		}
		ctx := context.Background()
		var obj string
		s3.List(ctx, "chunks/", func(key string, _ int64) error { obj = key; return nil })
		data, err := s3.Get(ctx, obj)
		if err != nil {
			t.Fatal(err)
		}
		data[0] ^= 1
		s3.Put(ctx, obj, bytes.NewReader(data), int64(len(data)))
		code, stdout, stderr := runReplicaCLI("--config", cfg, "verify")
		if code != exitError || !strings.Contains(stdout, obj) || !strings.Contains(stdout, "authentication failed") {
			t.Fatalf("verify: exit %d, stdout %q, stderr %q; want 1 naming %s", code, stdout, stderr, obj)
		}
	})
}
