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
	s := startServer(t, root, filepath.Join(t.TempDir(), "hk"), nil)
	server := filepath.Join(root, u.name, "Vault")
	one, two, wrong := newSealedClient(t), newSealedClient(t), newSealedClient(t)

	// Keys: one makes the folder key, two imports its export, wrong has
	// another key.
	out, err := one.sc(t, nil, "key", "new")
	if err != nil {
		t.Fatalf("key new: %v\n%s", err, out)
	}
	one.key = strings.Fields(out)[0]
	export := filepath.Join(t.TempDir(), "vault.key")
	if out, err := one.sc(t, nil, "key", "export", one.key, "-o", export); err != nil {
		t.Fatalf("key export: %v\n%s", err, out)
	}
	if out, err := two.sc(t, nil, "key", "import", export); err != nil {
		t.Fatalf("key import: %v\n%s", err, out)
	}
	two.key = one.key
	if out, err = wrong.sc(t, nil, "key", "new"); err != nil {
		t.Fatalf("key new: %v\n%s", err, out)
	}
	wrong.key = strings.Fields(out)[0]

	// Plaintexts the server must never see: names, contents, a target.
	secrets := []string{"Zebra Plans", "launch-codes", "quarterly", "notes-of-the-day", "CANARY-CONTENT-7731",
		"the eagle lands at midnight", "pointer-to-codes", "big-archive"}
	big := bytes.Repeat([]byte("CANARY-CONTENT-7731 big archive line, repeated to fill megabytes\n"), 3<<20/64)
	write := func(dir, p, content string) {
		t.Helper()
		os.MkdirAll(filepath.Dir(filepath.Join(dir, p)), 0o755)
		if err := os.WriteFile(filepath.Join(dir, p), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(one.local, "Zebra Plans/launch-codes.txt", "the eagle lands at midnight")
	write(one.local, "Zebra Plans/quarterly/notes-of-the-day.md", "CANARY-CONTENT-7731 notes")
	write(one.local, "big-archive.bin", string(big))
	os.Symlink("Zebra Plans/launch-codes.txt", filepath.Join(one.local, "pointer-to-codes"))
	sum, out, code := one.sync(t, s, u, "Vault")
	if code != 0 || sum.Uploaded != 4 || !sum.Converged {
		t.Fatalf("first sync: %+v exit %d\n%s", sum, code, out)
	}

	// (a) No plaintext name, target or content anywhere on the server.
	checkOpaque := func() {
		t.Helper()
		n := 0
		filepath.WalkDir(filepath.Join(root, u.name), func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return nil
			}
			n++
			rel := strings.TrimPrefix(p, filepath.Join(root, u.name))
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
	checkOpaque()
	if _, err := os.Stat(filepath.Join(server, "SIMPLECLOUD-KEY")); err != nil {
		t.Errorf("no key marker on the server: %v", err)
	}

	// (b) The second client gets everything back in plaintext.
	if sum, out, code := two.sync(t, s, u, "Vault"); code != 0 || sum.Downloaded != 4 || !sum.Converged {
		t.Fatalf("second client: %+v exit %d\n%s", sum, code, out)
	}
	if a, b := listTree(t, one.local), listTree(t, two.local); a != b {
		t.Fatalf("the clients differ:\none %s\ntwo %s", a, b)
	}
	if tg, _ := os.Readlink(filepath.Join(two.local, "pointer-to-codes")); tg != "Zebra Plans/launch-codes.txt" {
		t.Errorf("symlink target on two: %q", tg)
	}

	// A conflict (both edit one file), a rename on one and an append to
	// the big file on two, which goes as a delta of records.
	write(one.local, "Zebra Plans/quarterly/notes-of-the-day.md", "CANARY-CONTENT-7731 notes, edited on one")
	write(two.local, "Zebra Plans/quarterly/notes-of-the-day.md", "CANARY-CONTENT-7731 notes, edited on two!")
	if err := os.Rename(filepath.Join(one.local, "Zebra Plans/launch-codes.txt"), filepath.Join(one.local, "Zebra Plans/launch-codes-v2.txt")); err != nil {
		t.Fatal(err)
	}
	f, _ := os.OpenFile(filepath.Join(two.local, "big-archive.bin"), os.O_APPEND|os.O_WRONLY, 0)
	f.WriteString("CANARY-CONTENT-7731 appended on two\n")
	f.Close()
	if sum, out, code := one.sync(t, s, u, "Vault"); code != 0 || sum.Uploaded != 1 || !sum.Converged {
		t.Fatalf("one after the rename: %+v exit %d (want 1 upload: the rename moves, sends nothing)\n%s", sum, code, out)
	}
	sum, out, code = two.sync(t, s, u, "Vault")
	if code != 0 || sum.Conflicts != 1 {
		t.Fatalf("two: %+v exit %d, want 1 conflict\n%s", sum, code, out)
	}
	if sum.BytesSent > 1<<20 {
		t.Errorf("two sent %d bytes for an append to a 3 MiB file: want a delta of records under 1 MiB", sum.BytesSent)
	}
	t.Logf("append to the 3 MiB file: %d bytes sent", sum.BytesSent)
	for _, c := range []*sealedClient{one, two} {
		if sum, out, code := c.sync(t, s, u, "Vault"); code != 0 || !sum.Converged {
			t.Fatalf("settle: %+v exit %d\n%s", sum, code, out)
		}
	}
	if a, b := listTree(t, one.local), listTree(t, two.local); a != b {
		t.Fatalf("the clients differ after the conflict:\none %s\ntwo %s", a, b)
	}
	got := listTree(t, one.local)
	for _, want := range []string{"launch-codes-v2.txt=the eagle lands at midnight", "notes-of-the-day.md=CANARY-CONTENT-7731 notes, edited on",
		"notes-of-the-day.sync-conflict-", "appended on two"} {
		if !strings.Contains(got, want) {
			t.Errorf("the converged tree lacks %q: %s", want, got)
		}
	}
	if strings.Contains(got, "launch-codes.txt=") {
		t.Errorf("the renamed file's old name survived: %s", got)
	}
	checkOpaque()

	// (c) A client with another key, and one with no key: refused with a
	// clear error and exit status, nothing changed on either side.
	write(wrong.local, "mine.txt", "the wrong client's own file")
	serverBefore, localBefore := treeState(t, filepath.Join(root, u.name)), treeState(t, wrong.local)
	sum, out, code = wrong.sync(t, s, u, "Vault")
	if code != 2 || !strings.Contains(out, "wrong folder key") || !strings.Contains(out, one.key) || !strings.Contains(out, wrong.key) {
		t.Errorf("wrong key: exit %d, want 2 and an error naming both keys\n%s", code, out)
	}
	t.Logf("wrong key: exit %d: %s", code, lastLine(out))
	plain := *wrong
	plain.key = ""
	_, out, code = plain.sync(t, s, u, "Vault")
	t.Logf("no key: exit %d: %s", code, lastLine(out))
	if code == 0 || !strings.Contains(out, "encrypted folder") {
		t.Errorf("no key: exit %d, want a failure that says the folder is encrypted\n%s", code, out)
	}
	if after := treeState(t, filepath.Join(root, u.name)); after != serverBefore {
		t.Errorf("the refused clients changed the server:\n%s", lineDiff(serverBefore, after))
	}
	if after := treeState(t, wrong.local); after != localBefore {
		t.Errorf("the refused clients changed their folder:\n%s", lineDiff(localBefore, after))
	}

	// (d) Tampering: one changes a file and adds a large one; on the
	// server a byte of the first's ciphertext is flipped, the second's end
	// record cut off, and an older large file cut in the middle of a
	// record. Two refuses all three and keeps its own copies.
	changed := "the eagle lands at dawn, changed on one, of a length all its own"
	write(one.local, "Zebra Plans/launch-codes-v2.txt", changed)
	write(one.local, "big-archive-2.bin", string(big[:2<<20]))
	if sum, out, code := one.sync(t, s, u, "Vault"); code != 0 || sum.Uploaded != 2 {
		t.Fatalf("one's changes: %+v exit %d\n%s", sum, code, out)
	}
	flipped, cut := findSealed(t, server, int64(len(changed))+104), ""
	filepath.WalkDir(server, func(p string, d fs.DirEntry, err error) error {
		if fi, err := d.Info(); err == nil && fi.Mode().IsRegular() && fi.Size() > 2<<20 && fi.Size() < 3<<20 {
			cut = p
		}
		return nil
	})
	if cut == "" {
		t.Fatal("the new large file's sealed copy is not on the server")
	}
	b, _ := os.ReadFile(flipped)
	b[8+36+5] ^= 1 // a payload byte: ids and sizes, so the hash, stay
	os.WriteFile(flipped, b, 0o644)
	b, _ = os.ReadFile(cut)
	os.WriteFile(cut, b[:len(b)-44], 0o644) // without its end record
	// And a file two holds already, cut in the middle of a record.
	mid := ""
	filepath.WalkDir(server, func(p string, d fs.DirEntry, err error) error {
		if fi, err := d.Info(); err == nil && fi.Mode().IsRegular() && fi.Size() > 3<<20 {
			mid = p
		}
		return nil
	})
	b, _ = os.ReadFile(mid)
	os.WriteFile(mid, b[:len(b)-1000], 0o644)
	localBefore = treeState(t, two.local, false)
	sum, out, code = two.sync(t, s, u, "Vault")
	t.Logf("tampered: exit %d: %s", code, out)
	if code != 2 || !strings.Contains(out, "fails authentication") {
		t.Errorf("tampered server copies: exit %d, want 2 and an authentication error\n%s", code, out)
	}
	if b, _ := os.ReadFile(filepath.Join(two.local, "Zebra Plans/launch-codes-v2.txt")); string(b) != "the eagle lands at midnight" {
		t.Errorf("two's own copy of the tampered file: %q, want it kept", b)
	}
	if b, _ := os.ReadFile(filepath.Join(two.local, "big-archive.bin")); !strings.HasSuffix(string(b), "appended on two\n") {
		t.Errorf("two's own copy of the file cut on the server was not kept")
	}
	if !strings.Contains(out, "and 2 more") {
		t.Errorf("want three refused files in the error:\n%s", out)
	}
	if _, err := os.Lstat(filepath.Join(two.local, "big-archive-2.bin")); err == nil {
		t.Errorf("two took the truncated file")
	}
	if after := treeState(t, two.local, false); after != localBefore && !onlyStateChanged(localBefore, after) {
		t.Errorf("two's folder changed after refusing:\n%s", lineDiff(localBefore, after))
	}
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
