package agent

import (
	"context"
	"fmt"
	"io"
	"net"
	"strings"
	"syscall"
	"testing"
	"time"

	"simplecloud/internal/testutil"
)

// pipePair connects a Server and a Client over net.Pipe.
func pipePair(t *testing.T) (*Client, *Server, chan bool) {
	t.Helper()
	host, guest := net.Pipe()
	t.Cleanup(func() { host.Close(); guest.Close() })
	off := make(chan bool, 1)
	s := &Server{Poweroff: func() { off <- true }}
	go s.Serve(guest, Response{Kernel: "test"})
	return NewClient(host), s, off
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return c
}

func run(t *testing.T, c *Client, req Request) Response {
	t.Helper()
	req.Op = OpRun
	_, ch, err := c.Send(req)
	if err != nil {
		t.Fatal(err)
	}
	r, err := c.Wait(ctx(t), ch)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestRunExitAndOutput(t *testing.T) {
	c, _, _ := pipePair(t)
	hello, err := c.WaitReady(ctx(t))
	if err != nil || hello.Kernel != "test" {
		t.Fatalf("got hello %+v, %v; want kernel test", hello, err)
	}
	r := run(t, c, Request{Argv: []string{"sh", "-c", "cat; echo err >&2; exit 7"}, Stdin: []byte("in\x00put")})
	if r.Exit != 7 || string(r.Stdout) != "in\x00put" || string(r.Stderr) != "err\n" {
		t.Errorf("got exit %d stdout %q stderr %q; want 7, %q, %q", r.Exit, r.Stdout, r.Stderr, "in\x00put", "err\n")
	}
	r = run(t, c, Request{Argv: []string{"/nonexistent"}})
	if r.Exit != -1 || r.Error == "" {
		t.Errorf("got exit %d error %q for a missing program, want -1 and an error", r.Exit, r.Error)
	}
}

func TestSignalKillsGroup(t *testing.T) {
	c, _, _ := pipePair(t)
	id, ch, err := c.Send(Request{Op: OpRun, Argv: []string{"sh", "-c", "sleep 100; echo never"}})
	if err != nil {
		t.Fatal(err)
	}
	// Retry until the process is registered on the guest side.
	testutil.Eventually(t, 5*time.Second, func() error {
		_, sch, err := c.Send(Request{Op: OpSignal, Target: id, Signal: int(syscall.SIGKILL)})
		if err != nil {
			t.Fatal(err)
		}
		r, err := c.Wait(ctx(t), sch)
		if err != nil {
			t.Fatal(err)
		}
		if r.Error != "" {
			return fmt.Errorf("signal never reached the process: %s", r.Error)
		}
		return nil
	})
	r, err := c.Wait(ctx(t), ch)
	if err != nil || r.Exit != 128+9 || strings.Contains(string(r.Stdout), "never") {
		t.Errorf("got %+v, %v; want exit 137 and no output", r, err)
	}
}

func TestPoweroffAndClose(t *testing.T) {
	c, _, off := pipePair(t)
	_, ch, err := c.Send(Request{Op: OpPoweroff})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Wait(ctx(t), ch); err != nil {
		t.Fatal(err)
	}
	select {
	case <-off:
	case <-time.After(5 * time.Second):
		t.Fatal("poweroff callback not called")
	}
}

func TestPendingFailsWhenChannelCloses(t *testing.T) {
	host, guest := net.Pipe()
	c := NewClient(host)
	go io.Copy(io.Discard, guest) // a guest that never answers
	_, ch, err := c.Send(Request{Op: OpRun, Argv: []string{"true"}})
	if err != nil {
		t.Fatal(err)
	}
	guest.Close()
	if _, err := c.Wait(ctx(t), ch); err == nil {
		t.Fatal("got nil error for a request pending when the channel closed")
	}
	if _, _, err := c.Send(Request{Op: OpRun}); err == nil {
		t.Fatal("got nil error sending on a closed channel")
	}
}
