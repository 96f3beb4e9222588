package holders

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"testing"
)

// encodingJSON is what WriteJSON must match: encoding/json's indenting
// encoder.
func encodingJSON(t testing.TB, v any) []byte {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// awkward are strings that take every escape path.
var awkward = []string{"", "plain", `quote " and \ back`, "ctl \x00\x01\x1f\x7f", "\b\f\n\r\t", "<a & b>",
	"bad \xff\xfe utf8 \xe2\x82", "sep \u2028 \u2029 end", "ünïcödé ✓ 😀", "/srv/data/dir with spaces (deleted)"}

func TestJSONStrings(t *testing.T) {
	for _, s := range awkward {
		w := jsonWriter{}
		w.str(s)
		want := bytes.TrimSuffix(encodingJSON(t, s), []byte("\n"))
		if !bytes.Equal(w.b, want) {
			t.Errorf("%q: got %s, want %s", s, w.b, want)
		}
	}
}

// FuzzJSONString holds the string escaping to encoding/json's.
func FuzzJSONString(f *testing.F) {
	for _, s := range awkward {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		w := jsonWriter{}
		w.str(s)
		want := bytes.TrimSuffix(encodingJSON(t, s), []byte("\n"))
		if !bytes.Equal(w.b, want) {
			t.Fatalf("%q: got %s, want %s", s, w.b, want)
		}
	})
}

// randomReport fills every field, with nil, empty and full slices and zero
// and non-zero optional fields, from r.
func randomReport(r *rand.Rand) Report {
	str := func() string { return awkward[r.IntN(len(awkward))] }
	dev := func() Dev { return Dev{uint32(r.IntN(3) * 253), uint32(r.IntN(3))} }
	slice := func(n *int) bool { // false: a nil slice
		*n = r.IntN(4) - 1
		return *n >= 0
	}
	var n int
	rep := Report{Target: str(), Dev: dev(), Name: str(), DMName: str()}
	if slice(&n) {
		rep.Devices = make([]Dev, n)
		for i := range rep.Devices {
			rep.Devices[i] = dev()
		}
	}
	if slice(&n) {
		rep.Processes = make([]Process, n)
		for i := range rep.Processes {
			p := Process{PID: r.IntN(1 << 22), UID: r.IntN(70000), User: str(), Command: str(), Unit: str(),
				MountNS: r.Uint64(), StartTime: r.Uint64()}
			var m int
			if slice(&m) {
				p.Holds = make([]Hold, m)
				for j := range p.Holds {
					p.Holds[j] = Hold{Kind: str(), Path: str(), FD: r.IntN(3), Dev: dev()}
				}
			}
			rep.Processes[i] = p
		}
	}
	if slice(&n) {
		rep.Mounts = make([]Mount, n)
		for i := range rep.Mounts {
			m := Mount{Dev: dev(), Submount: r.IntN(2) == 0, Under: dev(), MountPoint: str(), FSType: str(),
				Source: str(), Namespace: r.Uint64(), Initial: r.IntN(2) == 0, ID: r.IntN(1000)}
			var k int
			if slice(&k) {
				m.PIDs = make([]int, k)
				for j := range m.PIDs {
					m.PIDs[j] = r.IntN(1 << 22)
				}
			}
			rep.Mounts[i] = m
		}
	}
	if slice(&n) {
		rep.Swaps = make([]Swap, n)
		for i := range rep.Swaps {
			rep.Swaps[i] = Swap{Path: str(), Dev: dev()}
		}
	}
	if slice(&n) {
		rep.Loops = make([]Loop, n)
		for i := range rep.Loops {
			rep.Loops[i] = Loop{Name: str(), Dev: dev(), BackingFile: str(), On: dev()}
		}
	}
	if slice(&n) {
		rep.Stacked = make([]Stacked, n)
		for i := range rep.Stacked {
			rep.Stacked[i] = Stacked{Name: str(), DMName: str(), Kind: str(), Dev: dev(), On: dev(), Depth: r.IntN(3)}
		}
	}
	for _, p := range []*[]string{&rep.Kernel, &rep.Warnings} {
		if slice(&n) {
			*p = make([]string, n)
			for i := range *p {
				(*p)[i] = str()
			}
		}
	}
	return rep
}

// TestJSONReport holds WriteJSON to encoding/json's output for the same
// report, byte for byte, over many reports that use every field.
func TestJSONReport(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for i := range 2000 {
		rep := randomReport(r)
		var got bytes.Buffer
		if err := WriteJSON(&got, rep); err != nil {
			t.Fatal(err)
		}
		if want := encodingJSON(t, rep); !bytes.Equal(got.Bytes(), want) {
			t.Fatalf("report %d:\ngot:\n%s\nwant:\n%s", i, got.Bytes(), want)
		}
	}
}
