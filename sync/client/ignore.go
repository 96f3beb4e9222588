package client

import (
	"context"
	"io"
	"os"

	"simplecloud/sync/core"
	"simplecloud/sync/proto"
)

// maxIgnoreFile bounds an ignore file read from either side.
const maxIgnoreFile = 1 << 20

// ignoreRules gathers the .simplecloudignore files of both sides (both are
// honoured: a pattern either side has applies to both). A file that
// cannot be read stops the run: without its patterns, ignored files
// would be synced.
func ignoreRules(ctx context.Context, l *local, rc Remote, base string, lt, rt core.Tree) (*core.Ignore, error) {
	ig := &core.Ignore{}
	for p, e := range lt.All() {
		if e.Kind != core.File || core.Base(p) != core.IgnoreFile || e.Size > maxIgnoreFile {
			continue
		}
		f, err := l.open(p)
		if err != nil {
			return nil, err
		}
		b, err := io.ReadAll(io.LimitReader(f, maxIgnoreFile))
		f.Close()
		if err != nil {
			return nil, err
		}
		ig.Add(core.Parent(p), b)
	}
	for p, e := range rt.All() {
		if e.Kind != core.File || core.Base(p) != core.IgnoreFile || e.Size > maxIgnoreFile {
			continue
		}
		if le := lt.Lookup(p); le.Kind == core.File && le.Hash == e.Hash {
			continue // the same file: added already
		}
		tmp, err := os.CreateTemp("", "simplecloud-ignore-*")
		if err != nil {
			return nil, err
		}
		_, err = rc.Download(ctx, remotePath(base, p), proto.Hash(e.Hash), nil, tmp)
		var b []byte
		if err == nil {
			b, err = os.ReadFile(tmp.Name())
		}
		tmp.Close()
		os.Remove(tmp.Name())
		if err != nil {
			return nil, err
		}
		ig.Add(core.Parent(p), b)
	}
	return ig, nil
}
