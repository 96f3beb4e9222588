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
// file at config and its contents c, by file name. The server reads its
// settings from the [server] table of the same file; its root is the data
// volume's mount point. The same texts, for the package's binary and the
// default mount point, are the units the Debian package ships (simplecloud
// dist).
func Units(bin, config string, c *Config) map[string]string {
	return map[string]string{
		UnlockUnit: fmt.Sprintf(`[Unit]
Description=Unlock and mount the SimpleCloud data volume
Documentation=man:simplecloud-unlock(1)
DefaultDependencies=no
After=local-fs.target systemd-udev-settle.service
Before=%[3]s
ConditionPathExists=%[2]s
# Skipped, not failed, once a package removal took the binary away.
ConditionFileIsExecutable=%[1]s

[Service]
Type=oneshot
RemainAfterExit=yes
ExecStart=%[1]s unlock --config %[2]s
ExecStop=%[1]s lock --config %[2]s
StandardInput=tty
StandardOutput=tty
TTYPath=/dev/console
# No terminal queries at start-up (a console that does not answer them
# would delay the prompt).
Environment=TERM=dumb
# 4: the volume was already open (it is mounted all the same).
SuccessExitStatus=4
TimeoutStartSec=0

[Install]
WantedBy=multi-user.target
`, bin, config, ServeUnit),
		ServeUnit: fmt.Sprintf(`[Unit]
Description=SimpleCloud server
Documentation=man:simplecloud-serve(1)
Requires=%[3]s
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
