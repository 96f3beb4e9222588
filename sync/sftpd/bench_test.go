package sftpd

import (
	"bufio"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"

	"simplecloud/sync/rootfs"
)

// benchSession serves a temporary directory over a socket pair (kernel
// buffers between client and server, as with a real channel) and returns
// the client's end after INIT, and the directory.
func benchSession(b *testing.B) (net.Conn, *bufio.Reader, string) {
	b.Helper()
	dir := b.TempDir()
	root, err := rootfs.Open(dir)
	if err != nil {
		b.Fatal(err)
	}
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		b.Fatal(err)
	}
	conn := func(fd int) net.Conn {
		f := os.NewFile(uintptr(fd), "socket")
		c, err := net.FileConn(f)
		f.Close()
		if err != nil {
			b.Fatal(err)
		}
		return c
	}
	cli, srv := conn(fds[0]), conn(fds[1])
	done := make(chan struct{})
	go func() {
		Serve(srv, root, Options{}, slog.New(slog.DiscardHandler))
		srv.Close()
		close(done)
	}()
	b.Cleanup(func() { cli.Close(); <-done; root.Close() })
	r := bufio.NewReaderSize(cli, 1<<20)
	cli.Write(AppendFrame(nil, &Init{Version: 3}))
	if _, err := ReadFrame(r, nil, MaxPacket); err != nil {
		b.Fatal(err)
	}
	return cli, r, dir
}

// BenchmarkTransfer measures the server alone (no SSH): a 64 MiB file read
// or written in 255 KiB requests (OpenSSH's sftp's size once the server
// offers limits@openssh.com), sent without waiting for replies; the
// session holds at most 64 at once (Options.MaxInFlight).
func BenchmarkTransfer(b *testing.B) {
	const size, chunk = 64 << 20, MaxPacket - 1024
	for _, op := range []string{"download", "upload"} {
		b.Run(op, func(b *testing.B) {
			cli, r, dir := benchSession(b)
			os.WriteFile(filepath.Join(dir, "f"), make([]byte, size), 0o644)
			pkt, _ := Decode(func() []byte {
				cli.Write(AppendFrame(nil, &Open{ID: 1, Path: "/f", PFlags: OpenRead | OpenWrite}))
				p, _ := ReadFrame(r, nil, MaxPacket)
				return p
			}())
			h := pkt.(*HandleReq).Handle
			data := make([]byte, chunk)
			b.SetBytes(size)
			b.ResetTimer()
			for range b.N {
				n := (size + chunk - 1) / chunk
				errc := make(chan error, 1)
				go func() {
					var buf []byte
					for i := range n {
						buf = buf[:0]
						if op == "download" {
							buf = AppendFrame(buf, &Read{ID: uint32(i), Handle: h, Offset: uint64(i * chunk), Len: chunk})
						} else {
							buf = AppendFrame(buf, &Write{ID: uint32(i), Handle: h, Offset: uint64(i * chunk), Data: data})
						}
						if _, err := cli.Write(buf); err != nil {
							errc <- err
							return
						}
					}
					errc <- nil
				}()
				rbuf := make([]byte, MaxPacket+64)
				for range n {
					p, err := ReadFrame(r, rbuf, MaxPacket+64)
					if err != nil || (p[0] != TypeData && p[0] != TypeStatus) {
						b.Fatalf("reply: %v %v", err, p[:1])
					}
				}
				if err := <-errc; err != nil {
					b.Fatal(fmt.Errorf("send: %w", err))
				}
			}
		})
	}
}
