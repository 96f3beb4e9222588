package proto

import (
	"fmt"
	"regexp"
)

// CapNodes says the server keeps node records: Node works.
const CapNodes = "nodes"

// MaxNodeName bounds a node's name (a host name, as people read it).
const MaxNodeName = 64

// nodeID is a node id on the wire: 32 lowercase hex digits.
var nodeID = regexp.MustCompile(`^[0-9a-f]{32}$`)

// Node tells the server that node ID (named Name, e.g. its host name) has
// just synced the folder Path, and asks which nodes have synced it. The
// answer is a final NodeList. The records are plain files under the user's
// .simplecloud/nodes/, one per node, and hold no content.
type Node struct {
	ID   string `cbor:"1,keyasint"`
	Name string `cbor:"2,keyasint"`
	Path string `cbor:"3,keyasint"`
}

// NodeInfo is one node that synced a folder, and when (ns since the Unix
// epoch, by the server's clock).
type NodeInfo struct {
	ID   string `cbor:"1,keyasint"`
	Name string `cbor:"2,keyasint"`
	Seen int64  `cbor:"3,keyasint"`
}

// NodeList answers Node: the nodes that synced the folder, most recent
// first.
type NodeList struct {
	Nodes []NodeInfo `cbor:"1,keyasint"`
}

func (*Node) Type() Type     { return TypeNode }
func (*NodeList) Type() Type { return TypeNodeList }

// CheckNode checks a node's id and name as the wire carries them.
func CheckNode(id, name string) error {
	if !nodeID.MatchString(id) {
		return fmt.Errorf("%w: node id %q is not 32 lowercase hex digits", ErrFrame, id)
	}
	if len(name) == 0 || len(name) > MaxNodeName {
		return fmt.Errorf("%w: node name of %d bytes, want 1 to %d", ErrFrame, len(name), MaxNodeName)
	}
	for _, r := range name {
		if r < 0x20 || r == 0x7f {
			return fmt.Errorf("%w: node name with a control character", ErrFrame)
		}
	}
	return nil
}

func (m *Node) validate() error {
	if err := CheckNode(m.ID, m.Name); err != nil {
		return err
	}
	return checkPaths(m.Path)
}

func (m *NodeList) validate() error {
	for _, n := range m.Nodes {
		if err := CheckNode(n.ID, n.Name); err != nil {
			return err
		}
	}
	return nil
}
