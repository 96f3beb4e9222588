package client

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	gosync "sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"simplecloud/sync/proto"
	"simplecloud/sync/rootfs"
	"simplecloud/sync/scan"
)

// fakeRemote is a stand-in for the server, backed by a second local
// directory, for the engine's logic tests only: it checks every change
// against its Expect as the real server does, but it is not the protocol,
// not sync/syncd and not ssh (the end-to-end tests run those). All calls
// are serialized by one mutex.
type fakeRemote struct {
	t    *testing.T
	dir  string
	mu   gosync.Mutex
	root *rootfs.Root
	sc   *scan.Scanner

	// noHash lists paths whose hash List leaves zero, as a server that
	// could not read the file would.
	noHash map[string]bool
	// before, if set, is called (without the lock) before each change or
	// download with the op's name and path: a test's way to race.
	before func(op, p string)
	calls  int
}

var errFakeSourceChanged = fmt.Errorf("source changed while read: %w", proto.ErrConflict)

func newFakeRemote(t *testing.T, dir string) *fakeRemote {
	t.Helper()
	root, err := rootfs.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { root.Close() })
	return &fakeRemote{t: t, dir: dir, root: root, sc: scan.New(root, scan.Options{Hasher: proto.PlainHasher{}, NoCache: true})}
}

func (f *fakeRemote) hook(op, p string) {
	if f.before != nil {
		f.before(op, p)
	}
}

func (f *fakeRemote) abs(p string) string { return filepath.Join(f.dir, filepath.FromSlash(p)) }

func toWire(e *scan.Entry) proto.Entry {
	w := proto.Entry{Path: e.Path, Mtime: e.Mtime, Mode: e.Mode}
	switch e.Kind {
	case scan.File:
		w.Kind, w.Size, w.Hash = proto.KindFile, uint64(e.Size), proto.Hash(e.Hash)
	case scan.Dir:
		w.Kind = proto.KindDir
	case scan.Symlink:
		w.Kind, w.Target, w.Mode = proto.KindSymlink, e.Target, 0
	}
	return w
}

func (f *fakeRemote) List(ctx context.Context, p string, h proto.HashMode, fn func([]proto.Entry) error) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	var es []proto.Entry
	if p == "" {
		es = append(es, proto.Entry{Path: "", Kind: proto.KindDir, Mode: 0o755})
	}
	_, err := f.sc.Walk(p, func(e *scan.Entry) error {
		w := toWire(e)
		if f.noHash[e.Path] {
			w.Hash = proto.Hash{}
		}
		es = append(es, w)
		return nil
	})
	if errors.Is(err, fs.ErrNotExist) {
		return proto.ErrNotFound
	}
	if err != nil {
		return err
	}
	return fn(es)
}

// current returns p's state (KindAbsent when missing).
func (f *fakeRemote) current(p string) (proto.Entry, error) {
	e, ok, err := f.sc.Stat(p, true)
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, unix.ENOTDIR) {
		return proto.Entry{Path: p}, nil
	}
	if err != nil || !ok {
		return proto.Entry{}, fmt.Errorf("stat %s: %v", p, err)
	}
	return toWire(&e), nil
}

func (f *fakeRemote) Stat(ctx context.Context, paths []string, h proto.HashMode) ([]proto.Entry, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []proto.Entry
	for _, p := range paths {
		e, err := f.current(p)
		if err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, nil
}

// check fails with a conflict unless p matches x.
func (f *fakeRemote) check(p string, x proto.Expect) error {
	cur, err := f.current(p)
	if err != nil {
		return err
	}
	ok := cur.Kind == x.Kind
	switch x.Kind {
	case proto.KindFile:
		ok = ok && cur.Hash == x.Hash
	case proto.KindSymlink:
		ok = ok && cur.Target == x.Target
	}
	if !ok {
		return &proto.Error{Code: proto.CodeConflict, Message: p, Current: &cur}
	}
	return nil
}

func (f *fakeRemote) Download(ctx context.Context, p string, want proto.Hash, base, dst *os.File) (TransferStats, error) {
	f.hook("download", p)
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	src, err := os.Open(f.abs(p))
	if err != nil {
		return TransferStats{}, err
	}
	defer src.Close()
	h, err := proto.PlainHasher{}.Hash(src)
	if err != nil {
		return TransferStats{}, err
	}
	if h != want {
		return TransferStats{}, fmt.Errorf("download %s: %w", p, proto.ErrConflict)
	}
	if _, err := src.Seek(0, io.SeekStart); err != nil {
		return TransferStats{}, err
	}
	n, err := io.Copy(dst, src)
	return TransferStats{Received: n}, err
}

func (f *fakeRemote) Upload(ctx context.Context, p string, expect proto.Expect, src *os.File, o UploadOptions) (proto.Entry, TransferStats, error) {
	f.hook("upload", p)
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	data, err := io.ReadAll(src)
	if err != nil {
		return proto.Entry{}, TransferStats{}, err
	}
	tmp, err := os.CreateTemp(filepath.Dir(f.abs(p)), ".up-")
	if err != nil {
		return proto.Entry{}, TransferStats{}, err
	}
	defer os.Remove(tmp.Name())
	tmp.Write(data)
	tmp.Seek(0, io.SeekStart)
	h, _ := proto.PlainHasher{}.Hash(tmp)
	tmp.Close()
	if h != o.Hash || int64(len(data)) != o.Size {
		return proto.Entry{}, TransferStats{}, errFakeSourceChanged
	}
	if err := f.check(p, expect); err != nil {
		return proto.Entry{}, TransferStats{}, err
	}
	os.Chmod(tmp.Name(), fs.FileMode(o.Mode))
	mt := time.Unix(0, o.Mtime)
	os.Chtimes(tmp.Name(), mt, mt)
	if err := os.Rename(tmp.Name(), f.abs(p)); err != nil {
		return proto.Entry{}, TransferStats{}, err
	}
	e, err := f.current(p)
	return e, TransferStats{Sent: int64(len(data))}, err
}

func (f *fakeRemote) change(op, p string, x proto.Expect, do func() error) (proto.Entry, error) {
	f.hook(op, p)
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	if err := f.check(p, x); err != nil {
		return proto.Entry{}, err
	}
	if err := do(); err != nil {
		return proto.Entry{}, err
	}
	return f.current(p)
}

func (f *fakeRemote) Mkdir(ctx context.Context, p string, mode uint32, mtime int64) (proto.Entry, error) {
	f.mu.Lock()
	cur, err := f.current(p)
	f.mu.Unlock()
	if err == nil && cur.Kind == proto.KindDir {
		return cur, nil
	}
	return f.change("mkdir", p, absent, func() error { return os.Mkdir(f.abs(p), fs.FileMode(mode)) })
}

func (f *fakeRemote) Symlink(ctx context.Context, p, target string, expect proto.Expect) (proto.Entry, error) {
	return f.change("symlink", p, expect, func() error {
		os.Remove(f.abs(p))
		return os.Symlink(target, f.abs(p))
	})
}

func (f *fakeRemote) Rename(ctx context.Context, from, to string, expect, expectTo proto.Expect) (proto.Entry, error) {
	return f.change("rename", to, expectTo, func() error {
		if err := f.check(from, expect); err != nil {
			return err
		}
		return os.Rename(f.abs(from), f.abs(to))
	})
}

func (f *fakeRemote) Delete(ctx context.Context, p string, expect proto.Expect) error {
	_, err := f.change("delete", p, expect, func() error { return os.Remove(f.abs(p)) })
	return err
}

func (f *fakeRemote) SetAttr(ctx context.Context, p string, expect proto.Expect, mode uint32, mtime int64) (proto.Entry, error) {
	return f.change("setattr", p, expect, func() error {
		if expect.Kind == proto.KindSymlink {
			return nil
		}
		if err := os.Chmod(f.abs(p), fs.FileMode(mode)); err != nil {
			return err
		}
		mt := time.Unix(0, mtime)
		return os.Chtimes(f.abs(p), mt, mt)
	})
}

// contents returns every file, link and directory below dir as
// "path=content" strings (links "path->target", dirs "path/"), sorted,
// leaving out the sync's own state: what a test compares two sides by.
func contents(t *testing.T, dir string) string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		switch {
		case rel == ".":
			return nil
		case rel == ".simplecloud" || strings.HasPrefix(d.Name(), ".up-"):
			return filepath.SkipDir
		case d.Type()&fs.ModeSymlink != 0:
			tg, _ := os.Readlink(p)
			out = append(out, rel+"->"+tg)
		case d.IsDir():
			out = append(out, rel+"/")
		default:
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			out = append(out, rel+"="+string(b))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return strings.Join(out, "\n")
}
