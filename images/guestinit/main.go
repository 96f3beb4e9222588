// Command guestinit is the /init of SimpleCloud's test and demo guests. As
// PID 1 it mounts the kernel filesystems, loads the kernel modules listed in
// /etc/guest/modules, waits for the virtio disks, makes /dev/disk/by-id
// links (there is no udev), moves its output to the virtio console (hvc0),
// configures the network when asked, then starts itself again as the command
// agent on the virtio port named sc.agent and reaps orphans until the agent
// exits, when it powers the guest off.
//
// Kernel command line options: sc.disks=N (wait for N virtio disks),
// sc.net=1 (bring up eth0 as 10.0.2.15/24 for qemu user networking),
// sc.agent=DEVICE (default: the virtio port named sc.agent).
package main

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"simplecloud/images/agent"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == "agent" {
		if err := runAgent(os.Args[2]); err != nil {
			fmt.Fprintf(os.Stderr, "guestinit agent: %v\n", err)
			os.Exit(1)
		}
		return
	}
	if os.Getpid() != 1 {
		fmt.Fprintln(os.Stderr, "guestinit: not PID 1; this program is the init of a test guest")
		os.Exit(64)
	}
	// boot returns only when the guest cannot come up.
	fmt.Printf("guestinit: FATAL: %v\n", boot())
	poweroff()
}

// cmdline returns the sc.* options of the kernel command line.
func cmdline() map[string]string {
	b, _ := os.ReadFile("/proc/cmdline")
	opts := map[string]string{}
	for _, f := range strings.Fields(string(b)) {
		if k, v, ok := strings.Cut(f, "="); ok && strings.HasPrefix(k, "sc.") {
			opts[k] = v
		}
	}
	return opts
}

func boot() error {
	if err := mountAll(); err != nil {
		return err
	}
	start := time.Now()
	if err := loadModules("/etc/guest/modules"); err != nil {
		return err
	}
	if err := useConsole(consoleDev, 10*time.Second); err != nil {
		return err
	}
	opts := cmdline()
	if err := waitDisks(opts["sc.disks"], 30*time.Second); err != nil {
		return err
	}
	if err := linkByID(); err != nil {
		return err
	}
	if opts["sc.net"] == "1" {
		if err := network(); err != nil {
			return err
		}
	}
	fmt.Printf("guestinit: system up in %v\n", time.Since(start).Round(time.Millisecond))
	dev := opts["sc.agent"]
	if dev == "" {
		var err error
		if dev, err = findPort(agent.PortName, 10*time.Second); err != nil {
			return err
		}
	}
	ag := exec.Command("/init", "agent", dev)
	ag.Stdout, ag.Stderr = os.Stdout, os.Stderr
	if err := ag.Start(); err != nil {
		return fmt.Errorf("start agent: %w", err)
	}
	for {
		var ws unix.WaitStatus
		pid, err := unix.Wait4(-1, &ws, 0, nil)
		if err == unix.EINTR {
			continue
		}
		if err != nil || pid == ag.Process.Pid {
			fmt.Printf("guestinit: agent exited (%v); powering off\n", ws.ExitStatus())
			poweroff()
		}
	}
}

func poweroff() {
	unix.Sync()
	unix.Reboot(unix.LINUX_REBOOT_CMD_POWER_OFF)
	select {}
}
