package syncd

import (
	"cmp"
	"encoding/json"
	"errors"
	"io"
	"path"
	"slices"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"simplecloud/sync/core"
	"simplecloud/sync/proto"
	"simplecloud/sync/rootfs"
)

// nodesDir holds one record per client node of the user, in the user's own
// state directory: plain JSON files, no database.
const nodesDir = core.StateDir + "/nodes"

// Bounds of the node records: how many a listing reads, how many folders
// one keeps, and a record's size.
const (
	maxNodes       = 256
	maxNodeFolders = 1024
	maxNodeRecord  = 256 << 10
)

// nodeRecord is the file nodesDir/ID.json.
type nodeRecord struct {
	ID      string           `json:"id"`
	Name    string           `json:"name"`
	Agent   string           `json:"agent,omitempty"`
	Folders map[string]int64 `json:"folders"` // path -> last sync, ns
}

// node records that m.ID synced m.Path now and answers the nodes that
// synced it, most recent first.
func (s *session) node(r *request, m *proto.Node) error {
	if err := checkPath(m.Path, true); err != nil {
		return err
	}
	rec := s.readNode(m.ID + ".json")
	if rec == nil || rec.ID != m.ID {
		rec = &nodeRecord{ID: m.ID, Folders: map[string]int64{}}
	}
	rec.Name, rec.Agent = m.Name, s.agent
	rec.Folders[m.Path] = time.Now().UnixNano()
	for len(rec.Folders) > maxNodeFolders { // the oldest go first
		oldest := ""
		for p, t := range rec.Folders {
			if oldest == "" || t < rec.Folders[oldest] {
				oldest = p
			}
		}
		delete(rec.Folders, oldest)
	}
	if err := s.writeNode(rec); err != nil {
		return err
	}
	return s.conn.Send(r.id, true, &proto.NodeList{Nodes: s.nodesOf(m.Path)})
}

// readNode reads one record; nil when it is missing or not one.
func (s *session) readNode(name string) *nodeRecord {
	f, err := s.root.OpenFile(path.Join(nodesDir, name), unix.O_RDONLY|unix.O_NONBLOCK, 0, false)
	if err != nil {
		return nil
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxNodeRecord+1))
	if err != nil || len(b) > maxNodeRecord {
		return nil
	}
	var rec nodeRecord
	if json.Unmarshal(b, &rec) != nil || proto.CheckNode(rec.ID, rec.Name) != nil || rec.ID+".json" != name {
		return nil
	}
	return &rec
}

// writeNode replaces the record of rec.ID (a temp file renamed in).
func (s *session) writeNode(rec *nodeRecord) error {
	b, err := json.MarshalIndent(rec, "", "  ")
	if err != nil {
		return err
	}
	tmp, err := s.tmpName("node")
	if err != nil {
		return err
	}
	if err := s.root.Mkdir(nodesDir, 0o700); err != nil && !errors.Is(err, unix.EEXIST) {
		return err
	}
	f, err := s.root.OpenFile(tmp, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL, 0o600, false)
	if err != nil {
		return err
	}
	_, err = f.Write(b)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = s.root.Rename(tmp, path.Join(nodesDir, rec.ID+".json"), 0)
	}
	if err != nil {
		s.root.Remove(tmp, 0)
	}
	return err
}

// nodesOf returns the nodes whose records name p, most recent first.
func (s *session) nodesOf(p string) []proto.NodeInfo {
	d, err := s.root.OpenDir(nodesDir)
	if err != nil {
		return nil
	}
	var names []string
	d.ReadNames(make([]byte, 16<<10), func(b []byte, _ rootfs.DirentType) {
		if n := string(b); strings.HasSuffix(n, ".json") && len(names) < maxNodes {
			names = append(names, n)
		}
	})
	d.Close()
	var out []proto.NodeInfo
	for _, n := range names {
		if rec := s.readNode(n); rec != nil {
			if t, ok := rec.Folders[p]; ok {
				out = append(out, proto.NodeInfo{ID: rec.ID, Name: rec.Name, Seen: t})
			}
		}
	}
	slices.SortFunc(out, func(a, b proto.NodeInfo) int {
		if c := cmp.Compare(b.Seen, a.Seen); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	return out
}
