package client

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"simplecloud/sync/client/remote"
	"simplecloud/sync/core"
	"simplecloud/sync/rootfs"
	"simplecloud/sync/syncd"
	"simplecloud/sync/versions"
)

// TestModel is the model-based random test: two clients of one server
// folder and direct edits on the server, hundreds of random creates,
// modifies, deletes, renames and mkdirs on all three, syncs in between;
// then the clients sync until they settle, and: all three trees are
// equal, and every content ever written that no person overwrote or
// deleted is somewhere (at a path, in a conflict copy, or in versions).
// The server is the real sync server over net.Pipe; seeds vary per run
// (SIMPLECLOUD_MODEL_SEED repeats one).
func TestModel(t *testing.T) {
	seed := rand.Uint64()
	if s := os.Getenv("SIMPLECLOUD_MODEL_SEED"); s != "" {
		fmt.Sscan(s, &seed)
	}
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 1))
	server := t.TempDir()
	os.Mkdir(filepath.Join(server, "Sync"), 0o755)
	type client struct {
		dir, state string
		rc         *remote.Client
	}
	var clients []*client
	for range 2 {
		root, err := rootfs.Open(server)
		if err != nil {
			t.Fatal(err)
		}
		a, b := net.Pipe()
		go func() {
			syncd.Serve(context.Background(), b, root, syncd.Options{Epoch: 1,
				Versions: versions.Open(root.Strict(), versions.DefaultPolicy(), nil)})
			b.Close()
		}()
		rc, err := remote.Dial(context.Background(), a, "model")
		if err != nil {
			t.Fatal(err)
		}
		c := &client{dir: filepath.Join(t.TempDir(), "c"), state: t.TempDir(), rc: rc}
		os.Mkdir(c.dir, 0o755)
		clients = append(clients, c)
		t.Cleanup(func() { rc.Close(); root.Close() })
	}
	sides := []string{clients[0].dir, clients[1].dir, filepath.Join(server, "Sync")}
	written := map[string]bool{} // content -> still owed (no person dropped it)
	n := 0
	content := func() string { n++; return fmt.Sprintf("content %d", n) }
	names := []string{"a", "b", "c", "d/a", "d/b", "d/e/a", "f/a"}
	// drop notes that a person overwrote or deleted what p held.
	drop := func(p string) {
		filepath.Walk(p, func(q string, fi os.FileInfo, err error) error {
			if err == nil && fi.Mode().IsRegular() {
				b, _ := os.ReadFile(q)
				written[string(b)] = false
			}
			return nil
		})
	}
	syncOne := func(c *client) Summary {
		s, err := RunOnce(context.Background(), c.rc, Options{Local: c.dir, RemoteName: "m:Sync", RemotePath: "Sync",
			StateDir: c.state, Limits: core.Limits{Force: true}, LocalHost: "h" + c.dir[len(c.dir)-3:], RemoteHost: "server"})
		if err != nil && !strings.Contains(err.Error(), "empty") {
			t.Fatalf("sync %s: %v", c.dir, err)
		}
		return s
	}
	for step := range 400 {
		side := sides[rng.IntN(3)]
		p := filepath.Join(side, names[rng.IntN(len(names))])
		switch op := rng.IntN(10); {
		case op < 4: // create or modify
			if fi, err := os.Lstat(p); err == nil && fi.IsDir() {
				continue
			}
			drop(p)
			os.MkdirAll(filepath.Dir(p), 0o755)
			c := content()
			if os.WriteFile(p, []byte(c), 0o644) == nil {
				written[c] = true
			}
		case op < 6: // delete (a file or a whole directory)
			drop(p)
			if rng.IntN(3) == 0 {
				drop(filepath.Dir(p))
				if filepath.Dir(p) != side {
					os.RemoveAll(filepath.Dir(p))
				}
			}
			os.Remove(p)
		case op < 7: // rename
			to := filepath.Join(side, names[rng.IntN(len(names))])
			if _, err := os.Lstat(to); err == nil {
				continue
			}
			os.MkdirAll(filepath.Dir(to), 0o755)
			os.Rename(p, to)
		case op < 8:
			os.MkdirAll(filepath.Join(side, "g", fmt.Sprint(rng.IntN(3))), 0o755)
		default:
			syncOne(clients[rng.IntN(2)])
		}
		_ = step
	}
	for range 6 {
		a, b := syncOne(clients[0]), syncOne(clients[1])
		if a.Converged && b.Converged && a.Uploaded+a.Downloaded+a.DeletedLocal+a.DeletedRemote == 0 &&
			b.Uploaded+b.Downloaded+b.DeletedLocal+b.DeletedRemote == 0 {
			break
		}
	}
	want := tree(t, sides[2])
	for _, s := range sides[:2] {
		if got := tree(t, s); got != want {
			t.Fatalf("trees differ after settling:\n%s: %s\nserver: %s", s, got, want)
		}
	}
	found := map[string]bool{}
	for _, dir := range []string{clients[0].dir, clients[1].dir, server} {
		filepath.Walk(dir, func(q string, fi os.FileInfo, err error) error {
			if err == nil && fi.Mode().IsRegular() {
				b, _ := os.ReadFile(q)
				found[string(b)] = true
			}
			return nil
		})
	}
	for c, owed := range written {
		if owed && !found[c] {
			t.Errorf("%q was lost", c)
		}
	}
}
