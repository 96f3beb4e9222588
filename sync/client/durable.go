package client

import (
	"fmt"
	"iter"
	"sort"

	"golang.org/x/sys/unix"

	"simplecloud/sync/core"
)

// syncDirs makes the local changes of a run durable before the new
// ancestor is saved: it fsyncs every directory an entry was renamed into
// or out of, made in or removed from (the parents of the done actions'
// Path and From, and the state directory's temporary and version
// directories the executor renames through). A file's own fsync does not
// cover its name: after a crash that lost a rename, the ancestor would
// say the folder holds the new content while it holds the old, and the
// next run would take the old content for a local edit and send it back
// over the server's newer file.
func (l *local) syncDirs(done iter.Seq2[int, core.Action]) ([]string, error) {
	dirs := map[string]bool{}
	for _, a := range done {
		dirs[core.Parent(a.Path)] = true
		if a.From != "" {
			dirs[core.Parent(a.From)] = true
		}
		// Renamed out of tmpDir: large downloads; into the versions: what
		// was replaced or removed.
		if (a.Op == core.OpWrite && a.New.Size >= resumeFrom) || a.Op == core.OpRemove || (a.Op == core.OpMkdir && a.Old.Present()) {
			dirs[tmpDir] = true
		}
	}
	list := make([]string, 0, len(dirs))
	for d := range dirs {
		list = append(list, d)
	}
	sort.Strings(list)
	var synced []string
	for _, d := range list {
		name := d
		if name == "" {
			name = "/"
		}
		f, err := l.root.OpenFile(name, unix.O_RDONLY|unix.O_DIRECTORY, 0, false)
		if err != nil {
			continue // gone since (removed by this run or meanwhile): nothing to keep
		}
		err = f.Sync()
		f.Close()
		if err != nil {
			return synced, fmt.Errorf("sync directory %s: %w", name, err)
		}
		synced = append(synced, d)
	}
	return synced, nil
}
