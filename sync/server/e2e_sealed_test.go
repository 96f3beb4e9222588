package server_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"simplecloud/internal/testutil"
)

// sealedClient is one client of an encrypted folder: its local folder, its
// sync state and its configuration (where its key store is).
type sealedClient struct {
	local, state, config, key string
}

func newSealedClient(t *testing.T) *sealedClient {
	d := t.TempDir()
	return &sealedClient{local: filepath.Join(d, "local"), state: filepath.Join(d, "state"), config: filepath.Join(d, "config")}
}

// sc runs simplecloud with the client's configuration directory.
func (c *sealedClient) sc(t *testing.T, stdin []byte, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command(binary(t), args...)
	cmd.Env = append(os.Environ(), "XDG_CONFIG_HOME="+c.config, "XDG_STATE_HOME="+c.state)
	cmd.Stdin = bytes.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	return strings.TrimSpace(out.String()) + "\n" + errb.String(), err
}

// sync runs `simplecloud sync --once --json --key` over the real OpenSSH
// client and returns the summary, the output and the exit status.
func (c *sealedClient) sync(t *testing.T, s *server, u *testUser, path string, extra ...string) (syncSummary, string, int) {
	t.Helper()
	rsh := "ssh " + strings.Join(s.sshArgs(u.key, "-p"), " ")
	args := []string{"sync", "--once", "--json", "-e", rsh}
	if c.key != "" {
		args = append(args, "--key", c.key)
	}
	args = append(append(args, extra...), c.local, u.name+"@127.0.0.1:"+path)
	cmd := exec.Command(binary(t), args...)
	cmd.Env = append(os.Environ(), "XDG_CONFIG_HOME="+c.config, "XDG_STATE_HOME="+c.state)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	var sum syncSummary
	json.Unmarshal(out.Bytes(), &sum)
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("run sync: %v", err)
	}
	return sum, out.String() + errb.String(), code
}

// treeState lists every name under dir with its size, mode, mtime and
// content hash: what "nothing changed" compares. Without dirTimes a
// directory's mtime is left out (a refused download's temporary file
// beside its destination changes it).
func treeState(t *testing.T, dir string, dirTimes ...bool) string {
	t.Helper()
	var out []string
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		fi, _ := d.Info()
		line := fmt.Sprintf("%s %v %d %d", p, fi.Mode(), fi.Size(), fi.ModTime().UnixNano())
		if fi.IsDir() && len(dirTimes) > 0 && !dirTimes[0] {
			line = fmt.Sprintf("%s %v", p, fi.Mode())
		}
		if fi.Mode().IsRegular() {
			b, _ := os.ReadFile(p)
			line += fmt.Sprintf(" %x", sha256.Sum256(b))
		}
		out = append(out, line)
		return nil
	})
	sort.Strings(out)
	return strings.Join(out, "\n")
}

// TestSyncEncrypted: two clients of one person keep an encrypted folder in
// step through the real server over the real OpenSSH client, with keys
// made and moved by `simplecloud key`. The server's tree holds no
// plaintext name or content; a conflict and a rename converge; a wrong
// key and a plain client are refused with nothing changed; a changed or
// truncated ciphertext is refused and the local copy kept.
func TestSyncEncrypted(t *testing.T) {
	needRoot(t, "ssh", "useradd")
	u := newUser(t, "")
	root := openDir(t)
	x := &sealedFixture{s: startServer(t, root, filepath.Join(t.TempDir(), "hk"), nil), u: u,
		home: filepath.Join(root, u.name), server: filepath.Join(root, u.name, "Vault"),
		one: newSealedClient(t), two: newSealedClient(t), wrong: newSealedClient(t),
		big: bytes.Repeat([]byte("CANARY-CONTENT-7731 big archive line, repeated to fill megabytes\n"), 3<<20/64)}
	testutil.Step(t, "keys", x.keys)
	testutil.Step(t, "first sync leaves no plaintext", x.firstSync)
	testutil.Step(t, "second client", x.secondClient)
	testutil.Step(t, "conflict, rename and delta", x.conflictRename)
	testutil.Step(t, "wrong key and no key", x.wrongKey)
	testutil.Step(t, "tampered ciphertext", x.tampered)
}

// sealedFixture is TestSyncEncrypted's server, user and clients.
type sealedFixture struct {
	s               *server
	u               *testUser
	home, server    string // the user's tree and the encrypted folder in it
	one, two, wrong *sealedClient
	big             []byte
}

// secrets are the plaintexts the server must never see: names, contents,
// a symlink target.
var secrets = []string{"Zebra Plans", "launch-codes", "quarterly", "notes-of-the-day", "CANARY-CONTENT-7731",
	"the eagle lands at midnight", "pointer-to-codes", "big-archive"}

// keys: one makes the folder key, two imports its export, wrong has
// another key.
func (x *sealedFixture) keys(t *testing.T) {
	out, err := x.one.sc(t, nil, "key", "new")
	if err != nil {
		t.Fatalf("key new: %v\n%s", err, out)
	}
	x.one.key = strings.Fields(out)[0]
	export := filepath.Join(t.TempDir(), "vault.key")
	if out, err := x.one.sc(t, nil, "key", "export", x.one.key, "-o", export); err != nil {
		t.Fatalf("key export: %v\n%s", err, out)
	}
	if out, err := x.two.sc(t, nil, "key", "import", export); err != nil {
		t.Fatalf("key import: %v\n%s", err, out)
	}
	x.two.key = x.one.key
	if out, err = x.wrong.sc(t, nil, "key", "new"); err != nil {
		t.Fatalf("key new: %v\n%s", err, out)
	}
	x.wrong.key = strings.Fields(out)[0]
}

func (x *sealedFixture) sync(t *testing.T, c *sealedClient) (syncSummary, string, int) {
	t.Helper()
	return c.sync(t, x.s, x.u, "Vault")
}

func writeFile(t *testing.T, dir, p, content string) {
	t.Helper()
	os.MkdirAll(filepath.Dir(filepath.Join(dir, p)), 0o755)
	if err := os.WriteFile(filepath.Join(dir, p), []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// firstSync (a): after one's first sync, no plaintext name, target or
// content is anywhere in the user's tree on the server.
func (x *sealedFixture) firstSync(t *testing.T) {
	writeFile(t, x.one.local, "Zebra Plans/launch-codes.txt", "the eagle lands at midnight")
	writeFile(t, x.one.local, "Zebra Plans/quarterly/notes-of-the-day.md", "CANARY-CONTENT-7731 notes")
	writeFile(t, x.one.local, "big-archive.bin", string(x.big))
	os.Symlink("Zebra Plans/launch-codes.txt", filepath.Join(x.one.local, "pointer-to-codes"))
	if sum, out, code := x.sync(t, x.one); code != 0 || sum.Uploaded != 4 || !sum.Converged {
		t.Fatalf("first sync: %+v exit %d\n%s", sum, code, out)
	}
	x.checkOpaque(t)
	if _, err := os.Stat(filepath.Join(x.server, "SIMPLECLOUD-KEY")); err != nil {
		t.Errorf("no key marker on the server: %v", err)
	}
}

// checkOpaque searches every name, symlink target and file of the user's
// tree on the server (versions included) for the secrets.
func (x *sealedFixture) checkOpaque(t *testing.T) {
	t.Helper()
	n := 0
	filepath.WalkDir(x.home, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		n++
		rel := strings.TrimPrefix(p, x.home)
		var content []byte
		if d.Type().IsRegular() {
			content, _ = os.ReadFile(p)
		} else if d.Type()&fs.ModeSymlink != 0 {
			tg, _ := os.Readlink(p)
			content = []byte(tg)
		}
		for _, sec := range secrets {
			if strings.Contains(strings.ToLower(rel), strings.ToLower(sec)) || bytes.Contains(content, []byte(sec)) {
				t.Errorf("the server's %s holds the plaintext %q", rel, sec)
			}
		}
		return nil
	})
	if n < 6 {
		t.Errorf("the server's tree has %d entries: nothing uploaded?", n)
	}
}

// secondClient (b): two, with the imported key, gets everything back.
func (x *sealedFixture) secondClient(t *testing.T) {
	if sum, out, code := x.sync(t, x.two); code != 0 || sum.Downloaded != 4 || !sum.Converged {
		t.Fatalf("second client: %+v exit %d\n%s", sum, code, out)
	}
	if a, b := listTree(t, x.one.local), listTree(t, x.two.local); a != b {
		t.Fatalf("the clients differ:\none %s\ntwo %s", a, b)
	}
	if tg, _ := os.Readlink(filepath.Join(x.two.local, "pointer-to-codes")); tg != "Zebra Plans/launch-codes.txt" {
		t.Errorf("symlink target on two: %q", tg)
	}
}

// conflictRename (b): a conflict (both edit one file), a rename on one and
// an append to the big file on two, which goes as a delta of records; both
// clients converge.
func (x *sealedFixture) conflictRename(t *testing.T) {
	one, two := x.one, x.two
	writeFile(t, one.local, "Zebra Plans/quarterly/notes-of-the-day.md", "CANARY-CONTENT-7731 notes, edited on one")
	writeFile(t, two.local, "Zebra Plans/quarterly/notes-of-the-day.md", "CANARY-CONTENT-7731 notes, edited on two!")
	if err := os.Rename(filepath.Join(one.local, "Zebra Plans/launch-codes.txt"), filepath.Join(one.local, "Zebra Plans/launch-codes-v2.txt")); err != nil {
		t.Fatal(err)
	}
	f, _ := os.OpenFile(filepath.Join(two.local, "big-archive.bin"), os.O_APPEND|os.O_WRONLY, 0)
	f.WriteString("CANARY-CONTENT-7731 appended on two\n")
	f.Close()
	if sum, out, code := x.sync(t, one); code != 0 || sum.Uploaded != 1 || !sum.Converged {
		t.Fatalf("one after the rename: %+v exit %d (want 1 upload: the rename moves, sends nothing)\n%s", sum, code, out)
	}
	sum, out, code := x.sync(t, two)
	if code != 0 || sum.Conflicts != 1 {
		t.Fatalf("two: %+v exit %d, want 1 conflict\n%s", sum, code, out)
	}
	if sum.BytesSent > 1<<20 {
		t.Errorf("two sent %d bytes for an append to a 3 MiB file: want a delta of records under 1 MiB", sum.BytesSent)
	}
	t.Logf("append to the 3 MiB file: %d bytes sent", sum.BytesSent)
	for _, c := range []*sealedClient{one, two} {
		if sum, out, code := x.sync(t, c); code != 0 || !sum.Converged {
			t.Fatalf("settle: %+v exit %d\n%s", sum, code, out)
		}
	}
	got := listTree(t, one.local)
	if b := listTree(t, two.local); got != b {
		t.Fatalf("the clients differ after the conflict:\none %s\ntwo %s", got, b)
	}
	for _, want := range []string{"launch-codes-v2.txt=the eagle lands at midnight", "notes-of-the-day.md=CANARY-CONTENT-7731 notes, edited on",
		"notes-of-the-day.sync-conflict-", "appended on two"} {
		if !strings.Contains(got, want) {
			t.Errorf("the converged tree lacks %q: %s", want, got)
		}
	}
	if strings.Contains(got, "launch-codes.txt=") {
		t.Errorf("the renamed file's old name survived: %s", got)
	}
	x.checkOpaque(t)
}

// wrongKey (c): a client with another key, and one with no key, are
// refused with a clear error and exit status; nothing changes on either
// side.
func (x *sealedFixture) wrongKey(t *testing.T) {
	wrong := x.wrong
	writeFile(t, wrong.local, "mine.txt", "the wrong client's own file")
	serverBefore, localBefore := treeState(t, x.home), treeState(t, wrong.local)
	_, out, code := x.sync(t, wrong)
	if code != 2 || !strings.Contains(out, "wrong folder key") || !strings.Contains(out, x.one.key) || !strings.Contains(out, wrong.key) {
		t.Errorf("wrong key: exit %d, want 2 and an error naming both keys\n%s", code, out)
	}
	t.Logf("wrong key: exit %d: %s", code, lastLine(out))
	plain := *wrong
	plain.key = ""
	_, out, code = x.sync(t, &plain)
	t.Logf("no key: exit %d: %s", code, lastLine(out))
	if code == 0 || !strings.Contains(out, "encrypted folder") {
		t.Errorf("no key: exit %d, want a failure that says the folder is encrypted\n%s", code, out)
	}
	if after := treeState(t, x.home); after != serverBefore {
		t.Errorf("the refused clients changed the server:\n%s", lineDiff(serverBefore, after))
	}
	if after := treeState(t, wrong.local); after != localBefore {
		t.Errorf("the refused clients changed their folder:\n%s", lineDiff(localBefore, after))
	}
}

// tampered (d): one changes a file and adds a large one; on the server a
// byte of the first's ciphertext is flipped, the second's end record cut
// off, and an older large file cut in the middle of a record. Two refuses
// all three with a clear error and keeps its own copies.
func (x *sealedFixture) tampered(t *testing.T) {
	changed := "the eagle lands at dawn, changed on one, of a length all its own"
	writeFile(t, x.one.local, "Zebra Plans/launch-codes-v2.txt", changed)
	writeFile(t, x.one.local, "big-archive-2.bin", string(x.big[:2<<20]))
	if sum, out, code := x.sync(t, x.one); code != 0 || sum.Uploaded != 2 {
		t.Fatalf("one's changes: %+v exit %d\n%s", sum, code, out)
	}
	flipped := findSealed(t, x.server, int64(len(changed))+104)
	cut, mid := sealedLarger(t, x.server, 2<<20, 3<<20), sealedLarger(t, x.server, 3<<20, 1<<40)
	b, _ := os.ReadFile(flipped)
	b[8+36+5] ^= 1 // a payload byte: ids and sizes, so the hash, stay
	os.WriteFile(flipped, b, 0o644)
	b, _ = os.ReadFile(cut)
	os.WriteFile(cut, b[:len(b)-44], 0o644) // without its end record
	b, _ = os.ReadFile(mid)
	os.WriteFile(mid, b[:len(b)-1000], 0o644) // in the middle of a record
	two := x.two
	localBefore := treeState(t, two.local, false)
	_, out, code := x.sync(t, two)
	t.Logf("tampered: exit %d: %s", code, out)
	if code != 2 || !strings.Contains(out, "fails authentication") || !strings.Contains(out, "and 2 more") {
		t.Errorf("tampered server copies: exit %d, want 2 and an authentication error naming three files\n%s", code, out)
	}
	if b, _ := os.ReadFile(filepath.Join(two.local, "Zebra Plans/launch-codes-v2.txt")); string(b) != "the eagle lands at midnight" {
		t.Errorf("two's own copy of the tampered file: %q, want it kept", b)
	}
	if b, _ := os.ReadFile(filepath.Join(two.local, "big-archive.bin")); !strings.HasSuffix(string(b), "appended on two\n") {
		t.Errorf("two's own copy of the file cut on the server was not kept")
	}
	if _, err := os.Lstat(filepath.Join(two.local, "big-archive-2.bin")); err == nil {
		t.Errorf("two took the truncated file")
	}
	if after := treeState(t, two.local, false); after != localBefore && !onlyStateChanged(localBefore, after) {
		t.Errorf("two's folder changed after refusing:\n%s", lineDiff(localBefore, after))
	}
}

// sealedLarger returns the one regular file under dir whose size is in
// (lo, hi).
func sealedLarger(t *testing.T, dir string, lo, hi int64) string {
	t.Helper()
	var found []string
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if fi, err := d.Info(); err == nil && fi.Mode().IsRegular() && fi.Size() > lo && fi.Size() < hi {
			found = append(found, p)
		}
		return nil
	})
	if len(found) != 1 {
		t.Fatalf("files of %d..%d bytes under %s: %q, want one", lo, hi, dir, found)
	}
	return found[0]
}

// findSealed returns the one regular file under dir of this size.
func findSealed(t *testing.T, dir string, size int64) string {
	t.Helper()
	var found []string
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if fi, err := d.Info(); err == nil && fi.Mode().IsRegular() && fi.Size() == size {
			found = append(found, p)
		}
		return nil
	})
	if len(found) != 1 {
		t.Fatalf("sealed files of %d bytes under %s: %q, want one", size, dir, found)
	}
	return found[0]
}

// onlyStateChanged reports whether two tree states differ only in the
// folder's own .simplecloud directory (versions, temporary files).
func onlyStateChanged(a, b string) bool {
	strip := func(s string) string {
		var out []string
		for _, l := range strings.Split(s, "\n") {
			if !strings.Contains(l, "/.simplecloud") {
				out = append(out, l)
			}
		}
		return strings.Join(out, "\n")
	}
	return strip(a) == strip(b)
}

// lineDiff shows the lines only in a (-) and only in b (+).
func lineDiff(a, b string) string {
	in := func(s string) map[string]bool {
		m := map[string]bool{}
		for _, l := range strings.Split(s, "\n") {
			m[l] = true
		}
		return m
	}
	ma, mb := in(a), in(b)
	var out []string
	for _, l := range strings.Split(a, "\n") {
		if !mb[l] {
			out = append(out, "- "+l)
		}
	}
	for _, l := range strings.Split(b, "\n") {
		if !ma[l] {
			out = append(out, "+ "+l)
		}
	}
	return strings.Join(out, "\n")
}

// lastLine returns the last non-empty line of s.
func lastLine(s string) string {
	ls := strings.Split(strings.TrimSpace(s), "\n")
	return ls[len(ls)-1]
}
