package client

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"simplecloud/sync/client/remote"
	"simplecloud/sync/core"
)

// TestRunOnceDialing runs syncs whose connection comes late: the local
// scan does not wait for it, the run does where it needs the server, and
// the outcome is RunOnce's; a connection that fails is the run's error.
func TestRunOnceDialing(t *testing.T) {
	p := newPair(t)
	write(t, filepath.Join(p.local, "a/b"), "one")
	o := Options{Local: p.local, RemoteName: "test:Sync", RemotePath: "Sync", StateDir: p.state,
		Limits: core.Limits{MaxDeletePercent: 50, Grace: 2}, LocalHost: "laptop", RemoteHost: "server"}
	dialed := make(chan time.Time, 1)
	late := func(ctx context.Context) (*remote.Client, error) {
		time.Sleep(50 * time.Millisecond)
		dialed <- time.Now()
		return p.rc, nil
	}
	for _, want := range []int{1, 0} {
		sum, rc, err := RunOnceDialing(context.Background(), late, o)
		<-dialed
		if err != nil || rc != p.rc || sum.Uploaded != want || !sum.Converged {
			t.Fatalf("got %+v, %v, %v; want %d uploaded, converged, the connection", sum, rc, err, want)
		}
	}
	if got, err := os.ReadFile(filepath.Join(p.server, "Sync/a/b")); err != nil || string(got) != "one" {
		t.Errorf("server copy: got %q, %v", got, err)
	}
	refused := errors.New("connection refused")
	_, rc, err := RunOnceDialing(context.Background(), func(context.Context) (*remote.Client, error) { return nil, refused }, o)
	if !errors.Is(err, refused) || rc != nil {
		t.Errorf("failed dial: got %v, %v; want the dial's error and no connection", rc, err)
	}
}
