package client

import (
	"context"
	"fmt"
	"io"

	"simplecloud/sync/client/remote"
)

// Connect runs the ssh command for t (the user's own ssh, or o.Command)
// and opens a sync connection over it. ssh's own messages (a host key
// prompt, a refused login) go to stderr.
func Connect(ctx context.Context, t remote.Target, o remote.SSHOptions, agent string, stderr io.Writer) (*remote.Client, error) {
	argv, err := remote.SSHArgv(t, o)
	if err != nil {
		return nil, err
	}
	rw, err := remote.Start(ctx, argv, stderr)
	if err != nil {
		return nil, err
	}
	c, err := remote.Dial(ctx, rw, agent)
	if err != nil {
		return nil, fmt.Errorf("%s: %w (is simplecloud serve running there, and does ssh reach it?)", t.Host, err)
	}
	return c, nil
}
