package core

import (
	"fmt"
	"io/fs"
	"strings"
	"testing"
	"unsafe"
)

// Entries for table tests. A file's content is a small number: the
// digest's first byte, its size a hundred times it, its mtime a thousand
// times it (so that later content also has the later mtime unless a test
// says otherwise).
func file(c byte) Entry {
	return Entry{Kind: File, Mode: 0o644, Size: int64(c) * 100, MTime: int64(c) * 1000, Hash: Digest{c}}
}

func fileMode(c byte, m fs.FileMode) Entry { e := file(c); e.Mode = m; return e }

func fileAt(c byte, mtime int64) Entry { e := file(c); e.MTime = mtime; return e }

func dir() Entry { return Entry{Kind: Dir, Mode: 0o755} }

func dirMode(m fs.FileMode) Entry { return Entry{Kind: Dir, Mode: m} }

func link(target string) Entry { return Entry{Kind: Symlink, Target: target} }

// mk builds a tree from path, entry pairs.
func mk(t testing.TB, pairs ...any) Tree {
	t.Helper()
	var b Builder
	for i := 0; i < len(pairs); i += 2 {
		if err := b.Add(pairs[i].(string), pairs[i+1].(Entry)); err != nil {
			t.Fatal(err)
		}
	}
	tr, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

// short formats an entry's data compactly: f3 (file content 3), f3:755
// (with a mode other than 644), d, d:700, l>target.
func short(e Entry) string {
	switch e.Kind {
	case File:
		s := fmt.Sprintf("f%d", e.Hash[0])
		if e.Mode != 0o644 {
			s += fmt.Sprintf(":%o", e.Mode)
		}
		return s
	case Dir:
		if e.Mode != 0o755 {
			return fmt.Sprintf("d:%o", e.Mode)
		}
		return "d"
	case Symlink:
		return "l>" + e.Target
	}
	return "-"
}

// actionString formats an action as the tables write it:
// "write a=f2", "remove a", "move b<-a", "aside C<-a", "mkdir d", "setmeta a=f1:755".
func actionString(a Action) string {
	s := a.Op.String() + " " + a.Path
	if a.Op == OpMove || a.Op == OpAside {
		s += "<-" + a.From
	}
	if a.Op == OpWrite || a.Op == OpMkdir || a.Op == OpSetMeta || a.Op == OpMove && !Same(a.Old, a.New) {
		s += "=" + short(a.New)
	}
	return s
}

func actionStrings(acts Actions) []string {
	out := []string{}
	for _, a := range acts.All() {
		out = append(out, actionString(a))
	}
	return out
}

func treeString(t Tree) string {
	var parts []string
	for p, e := range t.All() {
		parts = append(parts, p+"="+short(e))
	}
	return "{" + strings.Join(parts, " ") + "}"
}

func dump(a, l, r Tree, p Plan) string {
	return fmt.Sprintf("ancestor %s\nlocal    %s\nremote   %s\nlocal actions  %q\nremote actions %q",
		treeString(a), treeString(l), treeString(r), actionStrings(p.Local), actionStrings(p.Remote))
}

func unsafeStringData(s string) *byte { return unsafe.StringData(s) }
