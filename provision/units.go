package provision

import (
	"fmt"
	"path/filepath"
)

// Unit names written by the configure step.
const (
	UnlockUnit = "simplecloud-unlock.service"
	ServeUnit  = "simplecloud-serve.service"
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
Before=shutdown.target
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
	}
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
