package server

import (
	"fmt"
	"net"
	"os"
)

// Notify sends state (e.g. "READY=1") to systemd's notification socket
// when the process runs under systemd (NOTIFY_SOCKET is set); otherwise it
// does nothing. Abstract socket names start with '@'.
func Notify(state string) error {
	name := os.Getenv("NOTIFY_SOCKET")
	if name == "" {
		return nil
	}
	if name[0] == '@' {
		name = "\x00" + name[1:]
	}
	c, err := net.DialUnix("unixgram", nil, &net.UnixAddr{Name: name, Net: "unixgram"})
	if err != nil {
		return fmt.Errorf("sd_notify: %w", err)
	}
	defer c.Close()
	if _, err := c.Write([]byte(state)); err != nil {
		return fmt.Errorf("sd_notify: %w", err)
	}
	return nil
}
