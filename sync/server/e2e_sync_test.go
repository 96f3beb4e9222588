package server_test

import (
	"bytes"
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"simplecloud/sync/proto"
)

// sshStream is `ssh -s HOST simplecloud-sync` as a byte stream.
type sshStream struct {
	io.Reader
	io.WriteCloser
	cmd    *exec.Cmd
	stderr *bytes.Buffer
}

// syncStream starts the real OpenSSH client on the sync subsystem as user.
func (s *server) syncStream(t *testing.T, user, key string) *sshStream {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	args := append(s.sshArgs(key, "-p"), "-s", user+"@127.0.0.1", "simplecloud-sync")
	cmd := exec.CommandContext(ctx, "ssh", args...)
	in, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	st := &sshStream{Reader: out, WriteCloser: in, cmd: cmd, stderr: &bytes.Buffer{}}
	cmd.Stderr = st.stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		in.Close()
		cmd.Wait()
		cancel()
	})
	return st
}

// syncRequest sends one request and returns its frames up to the final one
// (the tests here have one request open at a time).
func syncRequest(t *testing.T, c *proto.Conn, id uint32, ms ...proto.Message) []proto.Message {
	t.Helper()
	done := make(chan error, 1)
	go func() {
		for i, m := range ms {
			if err := c.Send(id, i == len(ms)-1, m); err != nil {
				done <- err
				return
			}
		}
		done <- nil
	}()
	var out []proto.Message
	for {
		f, err := c.Recv()
		if err != nil {
			t.Fatalf("receive: %v", err)
		}
		if f.ID != id {
			t.Fatalf("frame for %d, want %d", f.ID, id)
		}
		out = append(out, f.Msg)
		if f.Final {
			break
		}
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	return out
}

// TestSyncSubsystem speaks the sync protocol through the real OpenSSH
// client to the real server as a user made with useradd: the session runs
// as the user (files it makes are the user's), stays in the user's root,
// and a key confined to internal-sftp never gets it.
func TestSyncSubsystem(t *testing.T) {
	needRoot(t, "ssh", "useradd")
	u := newUser(t, "")
	other := newUser(t, "")
	root := openDir(t)
	s := startServer(t, root, filepath.Join(t.TempDir(), "hk"), nil)
	// The other user's tree exists and holds a file.
	s.mustSFTP(t, other.name, other.key, "mkdir d\n")
	otherFile := filepath.Join(root, other.name, "d", "secret")
	os.WriteFile(otherFile, []byte("other's"), 0o600)

	st := s.syncStream(t, u.name, u.key)
	c, w, err := proto.Dial(struct {
		io.Reader
		io.Writer
	}{st, st}, proto.Hello{Agent: "e2e", Caps: []string{proto.CapVersions}})
	if err != nil {
		t.Fatalf("dial: %v (ssh: %s)", err, st.stderr)
	}
	if w.Version != proto.Version1 || len(w.Caps) != 1 || w.Epoch == 0 {
		t.Errorf("welcome %+v", w)
	}
	data := []byte("from the sync client")
	h, _, _ := proto.HashReader(proto.DefaultChunker(), bytes.NewReader(data))
	a := syncRequest(t, c, 1, &proto.Put{Path: "hello.txt"}, &proto.Data{Bytes: data},
		&proto.Commit{Size: uint64(len(data)), Mode: 0o666, Hash: h, Mtime: time.Now().UnixNano()})
	if _, ok := a[len(a)-1].(*proto.Done); !ok {
		t.Fatalf("upload: %#v", a[len(a)-1])
	}
	fi, err := os.Stat(filepath.Join(root, u.name, "hello.txt"))
	if err != nil {
		t.Fatal(err)
	}
	sys := fi.Sys().(*syscall.Stat_t)
	if int(sys.Uid) != u.uid || fi.Mode().Perm() != 0o644 {
		t.Errorf("uploaded file: uid %d mode %v, want uid %d mode 0644 (the session umask)", sys.Uid, fi.Mode(), u.uid)
	}
	a = syncRequest(t, c, 2, &proto.List{Path: ""})
	var paths []string
	for _, m := range a {
		for _, e := range m.(*proto.EntryBatch).Entries {
			paths = append(paths, e.Path)
		}
	}
	if strings.Join(paths, ",") != ",hello.txt" {
		t.Errorf("List = %q, want the root and hello.txt", paths)
	}
	// The other user's tree: ".." is refused; a link to it is not followed.
	os.Symlink(filepath.Join(root, other.name), filepath.Join(root, u.name, "theirs"))
	for i, m := range []proto.Message{&proto.Read{Path: "../" + other.name + "/d/secret"}, &proto.Read{Path: "theirs/d/secret"},
		&proto.List{Path: "theirs/d"}, &proto.Mkdir{Path: "theirs/d/x", Mode: 0o777}} {
		a := syncRequest(t, c, uint32(10+i), m)
		if _, ok := a[len(a)-1].(*proto.Error); !ok {
			t.Errorf("%T %+v was served: %#v", m, m, a)
		}
	}
	if b, _ := os.ReadFile(otherFile); string(b) != "other's" {
		t.Error("the other user's file changed")
	}
	c.Send(0, true, &proto.Bye{})
	st.WriteCloser.Close()

	// A key forced to internal-sftp gets sftp, never the sync subsystem.
	f := newUser(t, `restrict,command="internal-sftp"`)
	fs := s.syncStream(t, f.name, f.key)
	_, _, err = proto.Dial(struct {
		io.Reader
		io.Writer
	}{fs, fs}, proto.Hello{Agent: "e2e"})
	if err == nil {
		t.Fatal("a key forced to internal-sftp got the sync subsystem")
	}
	s.waitLog(t, "forced command")
}
