package versions

import (
	"strings"
	"testing"
	"time"
)

func TestVersionName(t *testing.T) {
	at := time.Date(2026, 12, 5, 3, 15, 0, 0, time.UTC)
	tests := []struct {
		p    string
		n    int
		want string
	}{
		{"a.txt", 0, "a~20261205-031500.txt"},
		{"dir/sub/a.tar.gz", 0, "dir/sub/a.tar~20261205-031500.gz"},
		{".bashrc", 0, ".bashrc~20261205-031500"},
		{"notes.", 0, "notes.~20261205-031500"},
		{"Makefile", 2, "Makefile~20261205-031500-2"},
		{"with space é.doc", 0, "with space é~20261205-031500.doc"},
		{"odd.b~c", 0, "odd~20261205-031500.b~c"},
	}
	for _, tt := range tests {
		t.Run(tt.p, func(t *testing.T) {
			got := versionName(tt.p, at.In(time.FixedZone("X", 3600)), tt.n)
			if got != tt.want {
				t.Fatalf("versionName(%q, %d) = %q, want %q", tt.p, tt.n, got, tt.want)
			}
			p, kept, ok := parseName(got)
			if !ok || p != tt.p || !kept.Equal(at) {
				t.Errorf("parseName(%q) = %q, %v, %v; want %q, %v", got, p, kept, ok, tt.p, at)
			}
		})
	}
}

func TestVersionNameLong(t *testing.T) {
	at := time.Date(2026, 12, 5, 3, 15, 0, 0, time.UTC)
	long := strings.Repeat("é", 127) + ".txt" // 258 bytes
	got := versionName("d/"+long, at, 12)
	name := got[2:]
	if len(name) > 255 {
		t.Fatalf("name of %d bytes", len(name))
	}
	if !strings.HasSuffix(name, "~20261205-031500-12.txt") || !strings.HasPrefix(name, "éé") {
		t.Errorf("got %q", name)
	}
	for i := 0; i < len(name); {
		r := []rune(name[i:])[0]
		if r == '\uFFFD' {
			t.Fatalf("cut inside a UTF-8 sequence: %q", name)
		}
		i += len(string(r))
	}
}

func TestParseNameRefuses(t *testing.T) {
	for _, id := range []string{"a.txt", "a~2026-12-05.txt", "a~20261305-031500.txt", "a~20261205-031500x",
		"a~20261205-031500-.txt", "~20261205-031500", "a~20261205-031500.b.c"} {
		if p, _, ok := parseName(id); ok {
			t.Errorf("parseName(%q) = %q, want not a version", id, p)
		}
	}
}

func TestValidID(t *testing.T) {
	for id, ok := range map[string]bool{"a~20261205-031500": true, "d/a~20261205-031500": true,
		"": false, "../a": false, "/a": false, "a//b": false, "a/./b": false, "a\x00b": false} {
		if err := validID(id); (err == nil) != ok {
			t.Errorf("validID(%q) = %v, want ok %v", id, err, ok)
		}
	}
}
