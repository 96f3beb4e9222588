package machine

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
)

// Client reaches the appliance's server from this machine, as a user of
// the appliance would: OpenSSH's sftp, and simplecloud unlock --remote
// (which runs ssh) for the unlock.
type Client struct {
	User        string
	Port        int    // on 127.0.0.1, forwarded to the guest's GuestPort
	Key         string // the private key file
	KnownHosts  string // learned on the first connection, checked after
	Simplecloud string // the simplecloud binary, for unlock --remote
	dir         string
}

// NewClient makes a key pair for user in dir (ssh-keygen) and returns the
// client and the public key's authorized_keys line.
func NewClient(dir, user string, port int, simplecloud string) (*Client, string, error) {
	c := &Client{User: user, Port: port, Key: filepath.Join(dir, "id_ed25519"), KnownHosts: filepath.Join(dir, "known_hosts"),
		Simplecloud: simplecloud, dir: dir}
	if out, err := exec.Command("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", user+"@simplecloud-test", "-f", c.Key).CombinedOutput(); err != nil {
		return nil, "", fmt.Errorf("ssh-keygen: %w: %s", err, out)
	}
	pub, err := os.ReadFile(c.Key + ".pub")
	if err != nil {
		return nil, "", err
	}
	return c, strings.TrimSpace(string(pub)), nil
}

// options are ssh's -o options: this key only, no questions, the host key
// learned once and then checked.
func (c *Client) options() []string {
	return []string{"IdentitiesOnly=yes", "BatchMode=yes", "StrictHostKeyChecking=accept-new", "UserKnownHostsFile=" + c.KnownHosts,
		"ConnectTimeout=20"}
}

// Unlock runs simplecloud unlock --remote USER@127.0.0.1 with the
// passphrase in a key file (never in argv) and returns what it printed.
func (c *Client) Unlock(passphrase string) (string, error) {
	kf := filepath.Join(c.dir, "passphrase")
	if err := os.WriteFile(kf, []byte(passphrase), 0o600); err != nil {
		return "", err
	}
	defer os.Remove(kf)
	args := []string{"unlock", "--remote", c.User + "@127.0.0.1", "-p", strconv.Itoa(c.Port), "-i", c.Key, "--key-file", kf}
	for _, o := range c.options() {
		args = append(args, "-o", o)
	}
	out, err := exec.Command(c.Simplecloud, args...).CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("simplecloud unlock --remote: %w: %s", err, out)
	}
	return string(out), nil
}

// SFTP runs OpenSSH's sftp with batch's commands (-b -) and returns what it
// printed.
func (c *Client) SFTP(batch string) (string, error) {
	args := []string{"-P", strconv.Itoa(c.Port), "-i", c.Key, "-b", "-"}
	for _, o := range c.options() {
		args = append(args, "-o", o)
	}
	cmd := exec.Command("sftp", append(args, c.User+"@127.0.0.1")...)
	cmd.Stdin = strings.NewReader(batch)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("sftp: %w: %s", err, out)
	}
	return string(out), nil
}
