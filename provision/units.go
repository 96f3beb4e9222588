package provision

import (
	"fmt"
	"path/filepath"
)

// Unit names written by the configure step.
const (
	UnlockUnit = "simplecloud-unlock.service"
	ServeUnit  = "simplecloud-serve.service"
	// FirstbootUnit is the template of the first-boot installer, one
	// instance per console (simplecloud-firstboot@tty1.service). The
	// package ships it disabled; the appliance image enables it.
	FirstbootUnit = "simplecloud-firstboot@.service"
)

// InstallHeader is the first line of the units install writes, by which
// the Debian package's purge tells them from units an administrator wrote.
const InstallHeader = "# Written by simplecloud install.\n"

// Units returns the systemd units for the binary at bin, the configuration
// file at config and its contents c, by file name: UnlockUnit, which
// unlocks (console and SSH) and then serves, and ServeUnit, the server
// alone. The server reads its settings from the [server] table of the
// same file; its root is the data volume's mount point. The same texts, for the package's binary and the
// default mount point, are the units the Debian package ships (simplecloud
// dist).
func Units(bin, config string, c *Config) map[string]string {
	return map[string]string{
		UnlockUnit: fmt.Sprintf(`[Unit]
Description=Unlock the SimpleCloud data volume (console and SSH), then serve it
Documentation=man:simplecloud-unlock(1)
DefaultDependencies=no
After=local-fs.target systemd-udev-settle.service network.target
# Asked before user sessions are permitted, as crypttab's volumes are: once
# systemd-user-sessions.service is done, a question starts
# systemd-ask-password-wall.service, which stops the console's agent (its
# ExecStartPre) and tells only logged-in users. So the boot, the gettys
# and logins wait for the unlock, or for --timeout or the tries to run out.
Before=shutdown.target systemd-user-sessions.service
Conflicts=shutdown.target
ConditionPathExists=%[2]s
# Skipped, not failed, once a package removal took the binary away.
ConditionFileIsExecutable=%[1]s

[Service]
# While the volume is locked the console is asked through systemd's
# password agents and the SSH server offers the admin group nothing but
# "ssh HOST unlock"; the first right passphrase opens it. READY=1 comes
# once the volume is mounted and the same process serves files.
Type=notify
ExecStart=%[1]s unlock --serve --config %[2]s
# Stopping it (a restart after an upgrade) leaves the volume open: the
# next start finds it so and serves at once. simplecloud lock closes it;
# at shutdown systemd unmounts it and detaches the mapping.
# 2: every try was wrong; ask again after a pause.
Restart=on-failure
RestartSec=30s
TimeoutStartSec=0

[Install]
WantedBy=multi-user.target
`, bin, config),
		ServeUnit: fmt.Sprintf(`[Unit]
# The server alone, for a volume opened some other way: %[3]s
# serves too, on the same port, so enable one of the two.
Description=SimpleCloud server
Documentation=man:simplecloud-serve(1)
After=%[3]s network-online.target
Wants=network-online.target
ConditionFileIsExecutable=%[1]s

[Service]
# serve says READY=1 once it listens, and STOPPING=1 when it drains.
Type=notify
ExecStart=%[1]s serve --config %[2]s --root %[4]s
Restart=on-failure

[Install]
WantedBy=multi-user.target
`, bin, config, UnlockUnit, c.Volume.Mount),
		FirstbootUnit: firstbootUnit(bin, config),
	}
}

// firstbootUnit is the first-boot installer on the console %I: simplecloud
// firstboot does nothing once a data volume is configured, runs install
// --answers when the kernel command line or the ESP names an answers file,
// and the installer's TUI otherwise. It runs before the console's getty,
// which starts once it is done, so the console is the installer's alone
// meanwhile; a skipped or finished instance leaves the getty as usual. No
// TTYVHangup=: hanging up ttyS0 killed the unlock prompt on /dev/console.
func firstbootUnit(bin, config string) string {
	return fmt.Sprintf(`[Unit]
Description=SimpleCloud first-boot installer on %%I
Documentation=man:simplecloud-install(1)
# After the unlock prompt (when a volume is installed), which asks on
# /dev/console: one of these consoles.
After=local-fs.target boot-efi.mount systemd-udev-settle.service systemd-user-sessions.service %[3]s
Wants=systemd-udev-settle.service
Before=getty@%%i.service serial-getty@%%i.service getty-pre.target
ConditionFileIsExecutable=%[1]s

[Service]
Type=oneshot
ExecStart=%[1]s firstboot --config %[2]s --tty /dev/%%I
StandardInput=tty
StandardOutput=tty
StandardError=tty
TTYPath=/dev/%%I
TTYReset=yes
# The installer's TUI on a Linux console or a serial line.
Environment=TERM=linux
TimeoutStartSec=0
RemainAfterExit=yes
# The instance whose installer finished stops the others (and itself): a
# oneshot's SIGTERM is otherwise a failure.
SuccessExitStatus=SIGTERM

[Install]
WantedBy=multi-user.target
`, bin, config, UnlockUnit)
}

func (s *System) writeUnits(bin string, c *Config) ([]string, error) {
	var paths []string
	for _, name := range []string{UnlockUnit, ServeUnit} {
		p := filepath.Join(s.UnitDir(), name)
		if err := writeFileAtomic(p, []byte(InstallHeader+Units(bin, s.ConfigPath(), c)[name]), 0o644); err != nil {
			return paths, err
		}
		paths = append(paths, p)
	}
	return paths, nil
}
