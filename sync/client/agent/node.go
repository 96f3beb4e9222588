package agent

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"
	"unicode/utf8"

	"simplecloud/sync/proto"
)

// NodeStatus is one node that synced a folder, as the server keeps it.
type NodeStatus struct {
	ID   string    `json:"id"`
	Name string    `json:"name"`
	Seen time.Time `json:"seen"`
	This bool      `json:"this,omitempty"` // this machine
}

// NodeID returns this machine's node id, made on first use and kept in
// the file node-id beside the configuration: 32 hex digits of randomness,
// which name it in the server's records (.simplecloud/nodes/ID.json).
func NodeID(configPath string) (string, error) {
	p := filepath.Join(filepath.Dir(configPath), "node-id")
	if b, err := os.ReadFile(p); err == nil {
		id := strings.TrimSpace(string(b))
		if proto.CheckNode(id, "x") != nil {
			return "", fmt.Errorf("%s does not hold a node id (32 hex digits); remove it to make a new one", p)
		}
		return id, nil
	} else if !errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("read the node id: %w", err)
	}
	var b [16]byte
	rand.Read(b[:])
	id := hex.EncodeToString(b[:])
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		return "", fmt.Errorf("save the node id: %w", err)
	}
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return NodeID(configPath) // made meanwhile by another client
	}
	if err != nil {
		return "", fmt.Errorf("save the node id: %w", err)
	}
	_, err = f.WriteString(id + "\n")
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(p)
		return "", fmt.Errorf("save the node id: %w", err)
	}
	return id, nil
}

// nodeName is how this machine is named in node records: the host name,
// cut to what the protocol carries.
func nodeName(host string) string {
	host = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return -1
		}
		return r
	}, host)
	if host == "" {
		host = "unknown"
	}
	for len(host) > proto.MaxNodeName {
		_, n := utf8.DecodeLastRuneInString(host)
		host = host[:len(host)-n]
	}
	return host
}

// nodeStatus converts the server's node list.
func nodeStatus(ns []proto.NodeInfo, self string) []NodeStatus {
	out := make([]NodeStatus, 0, len(ns))
	for _, n := range ns {
		out = append(out, NodeStatus{ID: n.ID, Name: n.Name, Seen: time.Unix(0, n.Seen).UTC(), This: n.ID == self})
	}
	return out
}
