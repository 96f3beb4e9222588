package provision

import "fmt"

// Units of the replica (simplecloud replica), shipped disabled by the
// package: an administrator who filled in [replica] enables the timers.
const (
	ReplicaUnit      = "simplecloud-replica.service"
	ReplicaTimer     = "simplecloud-replica.timer"
	ReplicaPruneUnit = "simplecloud-replica-prune.service"
	ReplicaPruneTmr  = "simplecloud-replica-prune.timer"
)

// ReplicaUnits returns the replica's units for the binary at bin and the
// configuration file at config, by file name: an hourly run and a daily
// prune. Both wait for the data volume (the unlock unit) and the network;
// a run and a prune that meet refuse each other through the bucket's lock
// and the timer tries again at its next tick.
func ReplicaUnits(bin, config string) map[string]string {
	return map[string]string{
		ReplicaUnit: fmt.Sprintf(`[Unit]
Description=SimpleCloud replica: upload what changed to the S3 bucket
Documentation=man:simplecloud-replica-run(1)
After=%[3]s %[4]s network-online.target
Wants=network-online.target
ConditionPathExists=%[2]s
ConditionFileIsExecutable=%[1]s

[Service]
Type=oneshot
ExecStart=%[1]s replica run --config %[2]s
# Reading every tree is I/O for the users' sake second.
Nice=10
IOSchedulingClass=idle
`, bin, config, UnlockUnit, ServeUnit),
		ReplicaTimer: `[Unit]
Description=SimpleCloud replica every hour
Documentation=man:simplecloud-replica-run(1)

[Timer]
OnCalendar=hourly
RandomizedDelaySec=10min
Persistent=true

[Install]
WantedBy=timers.target
`,
		ReplicaPruneUnit: fmt.Sprintf(`[Unit]
Description=SimpleCloud replica: thin old snapshots out and delete unused chunks
Documentation=man:simplecloud-replica-prune(1)
After=network-online.target
Wants=network-online.target
ConditionPathExists=%[2]s
ConditionFileIsExecutable=%[1]s

[Service]
Type=oneshot
ExecStart=%[1]s replica prune --config %[2]s
Nice=10
`, bin, config),
		ReplicaPruneTmr: `[Unit]
Description=SimpleCloud replica prune every day
Documentation=man:simplecloud-replica-prune(1)

[Timer]
OnCalendar=daily
RandomizedDelaySec=1h
Persistent=true

[Install]
WantedBy=timers.target
`,
	}
}
