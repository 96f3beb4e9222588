package sftpd

import (
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"simplecloud/sync/rootfs"
)

// FuzzSession sends arbitrary bytes after INIT: the session must answer or
// end with an error, never panic or hang. Seeds are requests of every kind
// on a root holding one file and one directory.
func FuzzSession(f *testing.F) {
	var seed []byte
	for _, p := range samples() {
		seed = AppendFrame(seed, p)
	}
	f.Add(seed)
	f.Add(AppendFrame(AppendFrame(nil, &Open{ID: 1, Path: "/f", PFlags: OpenRead | OpenWrite}),
		&Write{ID: 2, Handle: "1", Offset: 3, Data: []byte("xyz")}))
	f.Add(AppendFrame(nil, &Extended{ID: 3, Name: extCopyData, Data: []byte("\x00\x00\x00\x011")}))
	f.Add([]byte("\x00\x00\x00\x05\x0c\x00\x00\x00\x01"))
	f.Fuzz(func(t *testing.T, in []byte) {
		dir := t.TempDir()
		os.WriteFile(filepath.Join(dir, "f"), []byte("0123456789"), 0o644)
		os.Mkdir(filepath.Join(dir, "d"), 0o755)
		root, err := rootfs.Open(dir)
		if err != nil {
			t.Fatal(err)
		}
		defer root.Close()
		a, b := net.Pipe()
		done := make(chan error, 1)
		go func() {
			done <- Serve(b, root, Options{MaxHandles: 8}, slog.New(slog.DiscardHandler))
			b.Close()
		}()
		go io.Copy(io.Discard, a)
		a.Write(AppendFrame(nil, &Init{Version: 3}))
		a.Write(in)
		a.Close()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Fatal("session still running 10s after the client closed")
		}
	})
}
