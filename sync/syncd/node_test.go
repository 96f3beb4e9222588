package syncd

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"simplecloud/sync/proto"
)

// TestNode records two nodes' syncs of folders and reads back who synced
// which, most recent first, from plain files in .simplecloud/nodes, which
// damaged or foreign files there do not disturb.
func TestNode(t *testing.T) {
	p := newPeer(t, false)
	a, b := "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
	nodes := func(id, name, path string) []proto.NodeInfo {
		t.Helper()
		m := p.do(&proto.Node{ID: id, Name: name, Path: path})
		l, ok := m.(*proto.NodeList)
		if !ok {
			t.Fatalf("Node: got %#v, want a NodeList", m)
		}
		return l.Nodes
	}
	if got := nodes(a, "laptop", "docs"); len(got) != 1 || got[0].ID != a || got[0].Name != "laptop" || got[0].Seen == 0 {
		t.Fatalf("first node: got %+v", got)
	}
	dir := filepath.Join(p.dir, nodesDir)
	os.WriteFile(filepath.Join(dir, "garbage.json"), []byte("{not json"), 0o600)
	forged, _ := json.Marshal(nodeRecord{ID: a, Name: "forged", Folders: map[string]int64{"docs": 1}})
	os.WriteFile(filepath.Join(dir, b+"x.json"), forged, 0o600) // its id is not its name
	nodes(b, "desk", "music")
	got := nodes(b, "desk", "docs")
	if len(got) != 2 || got[0].ID != b || got[1].ID != a || got[0].Seen < got[1].Seen {
		t.Errorf("docs: got %+v, want desk then laptop", got)
	}
	if got := nodes(a, "laptop (renamed)", "music"); len(got) != 2 || got[0].ID != a || got[0].Name != "laptop (renamed)" {
		t.Errorf("music: got %+v, want the renamed laptop first, then desk", got)
	}
	var rec nodeRecord
	b2, err := os.ReadFile(filepath.Join(dir, a+".json"))
	if err != nil || json.Unmarshal(b2, &rec) != nil || len(rec.Folders) != 2 || rec.Agent != "peer" {
		t.Errorf("record of %s: %s, %v; want its two folders and agent", a, b2, err)
	}
	if ents, _ := os.ReadDir(filepath.Join(p.dir, tmpDir)); len(ents) != 0 {
		t.Errorf("temporary files left: %v", ents)
	}
	for _, e := range p.list("") {
		if e.Path != "" {
			t.Errorf("listing shows %q: node records must not be synced", e.Path)
		}
	}
}
