package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"

	"simplecloud/images/vm"
)

// secretWord is in the encrypted folder's file; the demo shows that the
// server's copy of the folder holds it nowhere, in no name or content.
const secretWord = "plover"

// client is one of alice's machines, as separate directories on this
// machine: its key store (XDG_CONFIG_HOME), its sync state
// (XDG_STATE_HOME) and its folder.
type client struct {
	name, config, state, folder string
}

func newClient(dir, name string) client {
	base := filepath.Join(dir, name)
	return client{name: name, config: filepath.Join(base, "config"), state: filepath.Join(base, "state"),
		folder: filepath.Join(base, "Private")}
}

// run runs simplecloud as this client, showing the command line (with
// the long ssh command of -e shortened).
func (c client) run(ctx context.Context, bin string, args ...string) (string, error) {
	shown := slices.Clone(args)
	for i := range shown {
		if i > 0 && shown[i-1] == "-e" {
			shown[i] = "'ssh -p PORT -i alice_key ...'"
		}
	}
	fmt.Printf("%s$ simplecloud %s\n", c.name, strings.Join(shown, " "))
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = append(os.Environ(), "XDG_CONFIG_HOME="+c.config, "XDG_STATE_HOME="+c.state)
	var out strings.Builder
	cmd.Stdout = &out
	cmd.Stderr = os.Stderr
	err := cmd.Run()
	if err != nil {
		return out.String(), fmt.Errorf("%s: simplecloud %s: %w", c.name, strings.Join(args, " "), err)
	}
	return out.String(), nil
}

// encryptedDemo has two of alice's machines keep an encrypted folder in
// step through the guest's server: one makes the folder key, the other
// imports its export; each syncs with --key; then the server's copy is
// searched for what the file says and what it is called.
func encryptedDemo(ctx context.Context, m *vm.Machine, dir, key, bin string) error {
	say("an encrypted folder: two of alice's machines, one key, a server that sees only ciphertext")
	laptop, desktop := newClient(dir, "laptop"), newClient(dir, "desktop")
	out, err := laptop.run(ctx, bin, "key", "new")
	if err != nil {
		return err
	}
	id := strings.TrimSpace(out)
	export := filepath.Join(dir, "folder-key.export")
	if _, err := laptop.run(ctx, bin, "key", "export", id, "--output", export); err != nil {
		return err
	}
	if _, err := desktop.run(ctx, bin, "key", "import", export); err != nil {
		return err
	}
	rsh := "ssh " + strings.Join(sshOptions(m, key, dir, "-p"), " ")
	sync := func(c client) error {
		_, err := c.run(ctx, bin, "sync", "--once", "--key", id, "-e", rsh, c.folder, "alice@127.0.0.1:Private")
		return err
	}
	if err := os.MkdirAll(laptop.folder, 0o755); err != nil {
		return err
	}
	name := "diary-" + secretWord + ".txt"
	text := "the password of the " + secretWord + " account is on the blue card\n"
	if err := os.WriteFile(filepath.Join(laptop.folder, name), []byte(text), 0o644); err != nil {
		return err
	}
	fmt.Printf("laptop: wrote %s\n", filepath.Join(laptop.folder, name))
	if err := sync(laptop); err != nil {
		return err
	}
	if err := sync(desktop); err != nil {
		return err
	}
	got, err := os.ReadFile(filepath.Join(desktop.folder, name))
	if err != nil || string(got) != text {
		return fmt.Errorf("the desktop's copy of %s: %q, %v; want the laptop's text", name, got, err)
	}
	fmt.Printf("desktop: %s = %q\n", name, strings.TrimSpace(string(got)))

	step := "ls -lnR /srv/simplecloud/alice/Private | head -12; " +
		"if grep -rli " + secretWord + " /srv/simplecloud/alice/Private; then echo FOUND; else echo 'no file or name holds \"" + secretWord + "\"'; fi; " +
		"find /srv/simplecloud/alice/Private | grep -ci " + secretWord + " || true"
	fmt.Printf("\n--- in the guest, the server's copy, searched for %q\n$ %s\n", secretWord, step)
	r, err := m.Run(ctx, "sh", "-c", step)
	if err != nil || r.Exit != 0 {
		return fmt.Errorf("look at the server's copy: %v %s", err, r.Stderr)
	}
	os.Stdout.Write(r.Stdout)
	if strings.Contains(string(r.Stdout), "FOUND") {
		return fmt.Errorf("the server's copy holds %q", secretWord)
	}

	edit := "crossed out: the card is shredded\n"
	f, err := os.OpenFile(filepath.Join(desktop.folder, name), os.O_APPEND|os.O_WRONLY, 0)
	if err == nil {
		_, err = f.WriteString(edit)
		f.Close()
	}
	if err != nil {
		return err
	}
	fmt.Printf("\ndesktop: appended to %s\n", name)
	if err := sync(desktop); err != nil {
		return err
	}
	if err := sync(laptop); err != nil {
		return err
	}
	got, err = os.ReadFile(filepath.Join(laptop.folder, name))
	if err != nil || string(got) != text+edit {
		return fmt.Errorf("the laptop's copy after the desktop's edit: %q, %v", got, err)
	}
	fmt.Printf("laptop: %s now ends %q\n", name, strings.TrimSpace(edit))
	return nil
}
