//go:build bench && scratch

package server_test

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestScratchParts(t *testing.T) {
	needRoot(t, "rsync", "ssh")
	u := newUser(t, "")
	root := openDir(t)
	ours := startServer(t, root, filepath.Join(t.TempDir(), "hk"), nil, "--log-level", "info")
	ours.cipher = benchCipher
	ref, _ := startRefSSHD(t, u, "internal-sftp")
	b := &syncBench{t: t, u: u, root: root, ours: ours, ref: ref, work: openDir(t)}
	os.Chown(b.work, u.uid, u.gid)
	small := openDir(t)
	makeFiles(t, filepath.Join(small, "small"), 10000, 200, 1<<10, 64<<10)
	big := openDir(t)
	writeRandom(t, filepath.Join(big, "big"), 1<<30)
	for _, c := range []struct{ name, dir string }{{"small", small}, {"big", big}} {
		if os.Getenv("ONLY") != "" && os.Getenv("ONLY") != c.name {
			continue
		}
		p, st := b.ourFresh(c.name)
		start := time.Now()
		o := b.ourSync(c.dir, p, st)
		t.Logf("%s: ours %v (%v)\n%s", c.name, o.d, time.Since(start), o.out)
		r := b.rsyncPush(c.dir, b.fresh("rsync-"+c.name))
		t.Logf("%s: rsync %v", c.name, r.d)
	}
}
