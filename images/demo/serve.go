package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"simplecloud/images/vm"
)

// serveDemo starts the server in the guest for a user of the machine and
// talks to it from this machine with OpenSSH's own sftp client, through
// the port qemu forwards to 127.0.0.1.
func serveDemo(ctx context.Context, m *vm.Machine, dir, bin string) error {
	key := filepath.Join(dir, "alice_key")
	if out, err := exec.CommandContext(ctx, "ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "alice@demo", "-f", key).CombinedOutput(); err != nil {
		return fmt.Errorf("make the demo's key: %v: %s", err, out)
	}
	pub, err := os.ReadFile(key + ".pub")
	if err != nil {
		return fmt.Errorf("read the demo's key: %w", err)
	}
	if err := runSteps(ctx, m, addUser(strings.TrimSpace(string(pub)))); err != nil {
		return err
	}
	say("from this machine: OpenSSH's sftp to the guest's server (127.0.0.1:%d)", m.HostPort(servePort))
	local := filepath.Join(dir, "notes.txt")
	if err := os.WriteFile(local, []byte("written on the client\n"), 0o644); err != nil {
		return fmt.Errorf("write %s: %w", local, err)
	}
	batch := fmt.Sprintf("put %s notes.txt\nls -l\n", local)
	cmd := exec.CommandContext(ctx, "sftp", append(sshOptions(m, key, dir, "-P"), "-b", "-", "alice@127.0.0.1")...)
	cmd.Stdin = strings.NewReader(batch)
	fmt.Printf("\n$ sftp -P %d alice@127.0.0.1 <<< %q\n", m.HostPort(servePort), batch)
	out, err := cmd.CombinedOutput()
	os.Stdout.Write(out)
	if err != nil {
		return fmt.Errorf("sftp to the guest: %w", err)
	}
	if err := syncDemo(ctx, m, dir, key, bin); err != nil {
		return err
	}
	return encryptedDemo(ctx, m, dir, key, bin)
}

// sshOptions are the OpenSSH client options for the guest's server: the
// demo's key only, its own known_hosts file, no questions.
func sshOptions(m *vm.Machine, key, dir, portFlag string) []string {
	return []string{"-F", "/dev/null", portFlag, fmt.Sprint(m.HostPort(servePort)), "-i", key,
		"-o", "IdentitiesOnly=yes", "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=accept-new",
		"-o", "UserKnownHostsFile=" + filepath.Join(dir, "known_hosts"), "-o", "LogLevel=ERROR"}
}
