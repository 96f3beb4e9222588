// Package durable makes writes durable in groups, for both ends of the
// sync: the server's uploads (sync/syncd) and the client's downloads
// (sync/client) each put a file's content on disk before renaming it in,
// and many of them are committed at once.
//
// Group is a group commit: one call of a sync function serves every
// caller that came before it started. Content uses one to share a
// syncfs(2) of the file system among the files committed meanwhile, while
// little else is dirty on the machine, and falls back to an fsync of each
// file otherwise (content.go says why and when).
package durable

import "sync"

// Group makes writes durable in groups: every caller of Sync waits for a
// call of do that started after it called, and one call serves all who
// called before it started (a group commit).
type Group struct {
	do        func() error
	mu        sync.Mutex
	cond      *sync.Cond
	requested uint64 // Sync calls so far
	done      uint64 // calls covered by a finished do
	running   bool
	err       error
}

// NewGroup returns a group whose syncs call do.
func NewGroup(do func() error) *Group {
	g := &Group{do: do}
	g.cond = sync.NewCond(&g.mu)
	return g
}

// Sync returns once everything written before the call is on disk, with
// the error of the call of do that covered it.
func (g *Group) Sync() error {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.requested++
	want := g.requested
	for g.done < want {
		if g.running {
			g.cond.Wait()
			continue
		}
		g.running = true
		covers := g.requested
		g.mu.Unlock()
		err := g.do()
		g.mu.Lock()
		g.running = false
		g.done, g.err = covers, err
		g.cond.Broadcast()
	}
	return g.err
}
