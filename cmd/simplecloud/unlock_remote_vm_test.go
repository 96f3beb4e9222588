//go:build vmtest

package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"simplecloud/images/vm"
	"simplecloud/images/vmtest"
	"simplecloud/internal/testutil"
)

// TestVMRemoteUnlock opens a real LUKS volume (dm-crypt, e2fsck, mount in
// a real kernel) over SSH: install, lock, then unlock --serve in the
// guest, and from this machine simplecloud unlock --remote through the
// port qemu forwards, a wrong key file first; then sftp on the same port.
func TestVMRemoteUnlock(t *testing.T) {
	testutil.NeedRoot(t, "ssh", "sftp", "ssh-keygen")
	dir := t.TempDir()
	m := vmtest.Boot(t, vmtest.Options{Options: vm.Options{Disks: []vm.Disk{
		{Path: filepath.Join(dir, "system.img"), Size: 64 << 20, Serial: "SC-SYSTEM"},
		{Path: filepath.Join(dir, "data.img"), Size: 128 << 20, Serial: "SC-DATA"},
	}, Forward: []int{2222}}, Programs: installGuestPrograms})
	g := guest{t: t, m: m}
	g.sh("/usr/sbin/mke2fs -q -t ext4 /dev/vda")
	g.sh(`mkdir -p /sysroot && mount /dev/vda /sysroot && mkdir -p /sysroot/etc/simplecloud /etc/simplecloud &&
mount --bind /sysroot/etc/simplecloud /etc/simplecloud && cp /bin/simplecloud /sysroot/simplecloud`)
	g.sh("printf 'correct horse' > /tmp/key")
	if r := g.run("", sc, "install", "--disk", "virtio-SC-DATA", "--key-file", "/tmp/key", "--yes",
		"--pbkdf", "pbkdf2", "--pbkdf-force-iterations", "1000"); r.Exit != 0 {
		t.Fatalf("install: exit %d\n%s%s", r.Exit, r.Stdout, r.Stderr)
	}
	g.sh("echo before > /srv/simplecloud/f && " + sc + " lock && rm /tmp/key")

	// An admin of the machine (group sudo, the default admin_group) with
	// a key on the root file system.
	key := filepath.Join(t.TempDir(), "id_ed25519")
	if out, err := exec.Command("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", key).CombinedOutput(); err != nil {
		t.Fatalf("ssh-keygen: %v: %s", err, out)
	}
	pub, err := os.ReadFile(key + ".pub")
	if err != nil {
		t.Fatal(err)
	}
	g.sh("echo 'alice:x:1000:1000:Alice:/home/alice:/bin/sh' >> /etc/passwd && echo 'alice:x:1000:' >> /etc/group && " +
		"echo 'sudo:x:27:alice' >> /etc/group && mkdir -p /home/alice/.ssh && echo '" + strings.TrimSpace(string(pub)) +
		"' > /home/alice/.ssh/authorized_keys && chown -R 1000:1000 /home/alice && chmod 700 /home/alice/.ssh")
	g.sh(sc + " --log-level debug unlock --serve < /dev/null > /tmp/us.out 2> /tmp/us.log &")
	testutil.Eventually(t, time.Minute, func() error {
		if r := g.run("", "grep", "-q", "the data volume is locked", "/tmp/us.out"); r.Exit != 0 {
			return fmt.Errorf("unlock --serve not asking yet: %s", g.run("", "cat", "/tmp/us.out", "/tmp/us.log").Stdout)
		}
		return nil
	})

	port := fmt.Sprint(m.HostPort(2222))
	known := filepath.Join(t.TempDir(), "known_hosts")
	opts := []string{"IdentitiesOnly=yes", "BatchMode=yes", "StrictHostKeyChecking=accept-new", "UserKnownHostsFile=" + known}
	remote := func(pass string) (int, string) {
		kf := filepath.Join(t.TempDir(), "pass")
		os.WriteFile(kf, []byte(pass), 0o600)
		args := []string{"unlock", "--remote", "alice@127.0.0.1", "-p", port, "-i", key, "--key-file", kf}
		for _, o := range opts {
			args = append(args, "-o", o)
		}
		var out, errb bytes.Buffer
		code := run(args, strings.NewReader(""), &out, &errb)
		return code, out.String() + errb.String()
	}
	start := time.Now()
	if code, out := remote("wrong horse"); code != exitAuth || !strings.Contains(out, "wrong passphrase (2 tries left)") {
		t.Fatalf("unlock --remote with a wrong passphrase: got exit %d\n%s", code, out)
	}
	code, out := remote("correct horse")
	if code != exitOK || !strings.Contains(out, "unlocked: ") {
		t.Fatalf("unlock --remote: got exit %d\n%s\nguest log:\n%s", code, out, g.run("", "cat", "/tmp/us.log").Stdout)
	}
	t.Logf("remote unlock of a real LUKS volume, a wrong passphrase first: %v", time.Since(start).Round(time.Millisecond))
	if got := g.sh("cat /srv/simplecloud/f"); got != "before\n" {
		t.Errorf("got %q in the unlocked volume, want the file written before", got)
	}
	g.sh("grep -q ' /srv/simplecloud ext4 ' /proc/mounts")
	log := string(g.run("", "cat", "/tmp/us.log").Stdout)
	if strings.Count(log, "remote unlock attempt") != 2 || strings.Contains(log, "horse") {
		t.Errorf("guest log: want two attempts and no passphrase:\n%s", log)
	}
	// The same server serves files now.
	args := []string{"-P", port, "-i", key, "-b", "-"}
	for _, o := range opts {
		args = append(args, "-o", o)
	}
	cmd := exec.Command("sftp", append(args, "alice@127.0.0.1")...)
	cmd.Stdin = strings.NewReader("put " + key + ".pub k.pub\nls\n")
	if b, err := cmd.CombinedOutput(); err != nil || !strings.Contains(string(b), "k.pub") {
		t.Errorf("sftp after the remote unlock: %v\n%s", err, b)
	}
	g.sh("test -s /srv/simplecloud/alice/k.pub")
}
