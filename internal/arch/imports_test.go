package arch

import (
	"bytes"
	"encoding/json"
	"os/exec"
	"path"
	"strings"
	"testing"
)

const module = "simplecloud"

// rule says which project packages a package (matched by prefix, the
// longest prefix wins) may import, and which standard or third-party
// imports it must not use.
type rule struct {
	prefix   string
	allow    []string // project package prefixes it may import
	forbidOS []string // imports that would mean OS calls
	forbid   []string // other imports the package must stay free of
}

var rules = []rule{
	{prefix: "cmd/", allow: []string{""}}, // only cmd wires everything together
	{prefix: "luks", allow: []string{"luks", "internal/"}},
	{prefix: "disk", allow: []string{"disk", "internal/"}},
	{prefix: "provision", allow: []string{"provision", "luks", "disk", "internal/"}},
	{prefix: "tui", allow: []string{"tui", "provision", "disk", "internal/"},
		forbidOS: []string{"os/exec", "syscall", "golang.org/x/sys/unix"}},
	{prefix: "sync/core", allow: []string{"sync/core", "internal/"}},
	{prefix: "sync/proto", allow: []string{"sync/proto", "internal/"}},
	// The zero-knowledge core is pure: the sync client and the replica both use it.
	{prefix: "sync/seal", allow: []string{"sync/seal", "internal/"}},
	{prefix: "sync/server", allow: []string{"sync/server", "sync/core", "sync/proto", "sync/rootfs", "sync/scan", "sync/sftpd", "sync/syncd", "sync/watch", "sync/versions", "sync/dirty", "internal/"}},
	// The tree scanner serves the server and the client; it reads through rootfs
	// and asks the server's changed-directory oracle (sync/dirty) when it has one.
	{prefix: "sync/scan", allow: []string{"sync/scan", "sync/rootfs", "sync/dirty", "internal/"}},
	// The changed-directory oracle (fanotify in the server's parent) stands alone.
	{prefix: "sync/dirty", allow: []string{"sync/dirty", "internal/"},
		forbid: []string{"golang.org/x/crypto/ssh"}},
	// The rooted file system knows nothing of SSH: the sync subsystem uses it too.
	{prefix: "sync/rootfs", allow: []string{"sync/rootfs", "internal/"},
		forbid: []string{"golang.org/x/crypto/ssh", "github.com/pkg/sftp"}},
	// The SFTP server serves any byte stream; SSH stays in sync/server.
	{prefix: "sync/sftpd", allow: []string{"sync/sftpd", "sync/rootfs", "internal/"},
		forbid: []string{"golang.org/x/crypto/ssh"}},
	// The sync subsystem's server serves any byte stream, as sftpd does.
	{prefix: "sync/syncd", allow: []string{"sync/syncd", "sync/proto", "sync/core", "sync/rootfs", "sync/scan", "sync/watch", "sync/versions", "sync/durable", "internal/"},
		forbid: []string{"golang.org/x/crypto/ssh"}},
	// The watcher and the version store work on a rooted tree, for the server and the client.
	{prefix: "sync/watch", allow: []string{"sync/watch", "sync/rootfs", "internal/"}},
	{prefix: "sync/versions", allow: []string{"sync/versions", "sync/rootfs", "internal/"}},
	// Group syncs of written files, for the server's uploads and the client's downloads.
	{prefix: "sync/durable", allow: []string{"sync/durable", "sync/rootfs", "internal/"}},
	// The admission policy is pure: time and randomness are handed in.
	{prefix: "sync/server/admit", allow: []string{"sync/server/admit"},
		forbidOS: []string{"os", "os/exec", "syscall", "golang.org/x/sys/unix", "net"}},
	{prefix: "sync/client", allow: []string{"sync/client", "sync/core", "sync/proto", "sync/seal", "sync/rootfs", "sync/scan", "sync/watch", "sync/versions", "sync/durable", "internal/"}},
	// The replica reads trees through rootfs and scan and seals with seal; S3 stays in s3.go;
	// its prune thins snapshots on the versions' schedule.
	{prefix: "sync/replica", allow: []string{"sync/replica", "sync/seal", "sync/proto", "sync/rootfs", "sync/scan", "sync/versions", "internal/"}},
	{prefix: "images", allow: []string{"images", "internal/"}},
	{prefix: "internal/", allow: []string{"internal/"}},
}

// under reports whether rel is the package p or lies below it.
func under(rel, p string) bool {
	if p == "" {
		return true
	}
	p = strings.TrimSuffix(p, "/")
	return rel == p || strings.HasPrefix(rel, p+"/")
}

func ruleFor(rel string) (rule, bool) {
	best, found := rule{}, false
	for _, r := range rules {
		if under(rel, r.prefix) && len(r.prefix) >= len(best.prefix) {
			best, found = r, true
		}
	}
	return best, found
}

type pkg struct {
	ImportPath string
	Name       string
	Imports    []string
}

func listPackages(t *testing.T, tags string) []pkg {
	t.Helper()
	cmd := exec.Command("go", "list", "-tags", tags, "-json", module+"/...")
	cmd.Dir = "../.."
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v: %s", err, stderr.String())
	}
	var pkgs []pkg
	dec := json.NewDecoder(bytes.NewReader(out))
	for dec.More() {
		var p pkg
		if err := dec.Decode(&p); err != nil {
			t.Fatalf("decode go list output: %v", err)
		}
		pkgs = append(pkgs, p)
	}
	if len(pkgs) < 10 {
		t.Fatalf("go list found only %d packages; want the whole module", len(pkgs))
	}
	return pkgs
}

// TestImportRules checks every package's non-test imports against rules.
func TestImportRules(t *testing.T) {
	for _, tags := range []string{"", "vmtest"} {
		for _, p := range listPackages(t, tags) {
			rel := strings.TrimPrefix(strings.TrimPrefix(p.ImportPath, module), "/")
			if rel == "sync" || (p.Name == "sync" && p.ImportPath != "sync") {
				t.Errorf("%s: a package named sync would shadow the standard library", p.ImportPath)
			}
			r, ok := ruleFor(rel)
			if !ok {
				t.Errorf("%s: no import rule covers this package; add one to rules", p.ImportPath)
				continue
			}
			for _, imp := range p.Imports {
				for _, f := range r.forbidOS {
					if imp == f {
						t.Errorf("%s imports %s: this package makes no OS calls", p.ImportPath, imp)
					}
				}
				for _, f := range r.forbid {
					if under(imp, f) {
						t.Errorf("%s imports %s: forbidden by its rule", p.ImportPath, imp)
					}
				}
				if imp != module && !strings.HasPrefix(imp, module+"/") {
					continue
				}
				irel := strings.TrimPrefix(imp, module+"/")
				if path.Base(path.Dir(p.ImportPath)) == "cmd" && under(irel, "cmd/") {
					t.Errorf("%s imports %s: nothing imports a command", p.ImportPath, imp)
				}
				allowed := false
				for _, a := range r.allow {
					if under(irel, a) {
						allowed = true
					}
				}
				if !allowed {
					t.Errorf("%s imports %s: not allowed by the rules of ../shared/DESIGN.md", p.ImportPath, imp)
				}
			}
		}
	}
}

// TestRuleTable checks the rule matcher itself, so the test above can fail.
func TestRuleTable(t *testing.T) {
	cases := []struct {
		rel, imp string
		want     bool
	}{
		{"luks", "disk", false},
		{"luks/dm", "luks", true},
		{"provision", "luks", true},
		{"provision", "tui", false},
		{"provision", "sync/server", false},
		{"tui", "provision", true},
		{"tui", "luks", false},
		{"sync/server", "sync/core", true},
		{"sync/core", "sync/proto", false},
		{"sync/server", "sync/server/admit", true},
		{"sync/server/admit", "internal/cmdrun", false},
		{"sync/server", "sync/rootfs", true},
		{"sync/rootfs", "sync/server", false},
		{"sync/rootfs", "internal/mountinfo", true},
		{"sync/sftpd", "sync/rootfs", true},
		{"sync/sftpd", "sync/server", false},
		{"sync/scan", "sync/rootfs", true},
		{"sync/scan", "sync/core", false},
		{"sync/client", "sync/scan", true},
		{"disk/holders", "luks/dm", false},
		{"cmd/simplecloud", "sync/server", true},
		{"diskette", "luks", false},
	}
	for _, c := range cases {
		r, ok := ruleFor(c.rel)
		got := false
		if ok {
			for _, a := range r.allow {
				if under(c.imp, a) {
					got = true
				}
			}
		}
		if got != c.want {
			t.Errorf("%s importing %s: got allowed=%v, want %v", c.rel, c.imp, got, c.want)
		}
	}
}
