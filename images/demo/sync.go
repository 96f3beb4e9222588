package main

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"simplecloud/images/vm"
)

// syncDemo runs `simplecloud sync` on this machine, keeping a folder in
// step with alice's Sync folder in the guest, and shows a file that a root
// process moves into her folder on the server (as a finished download
// would be) arriving here, and a file written here arriving there.
func syncDemo(ctx context.Context, m *vm.Machine, dir, key, bin string) error {
	local := filepath.Join(dir, "alice-laptop", "Sync")
	rsh := "ssh " + strings.Join(sshOptions(m, key, dir, "-p"), " ")
	say("from this machine: simplecloud sync, running, with the guest's server")
	fmt.Printf("$ simplecloud sync --json -e 'ssh -p %d -i alice_key ...' %s alice@127.0.0.1:Sync\n", m.HostPort(servePort), local)
	cmd := exec.CommandContext(ctx, bin, "sync", "--json", "-e", rsh, local, "alice@127.0.0.1:Sync")
	cmd.Env = append(os.Environ(), "XDG_STATE_HOME="+filepath.Join(dir, "state"))
	out, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start simplecloud sync: %w", err)
	}
	defer cmd.Process.Kill()
	lines := make(chan string, 64)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	if err := waitLine(lines, `"converged":true`, 60*time.Second); err != nil {
		return fmt.Errorf("the first sync: %w", err)
	}
	fmt.Printf("   first sync done; %s holds: %s\n", local, listDir(local))
	fmt.Println("   (it keeps running: inotify here, the server's change feed there)")

	step := "printf 'a film, downloaded by a root process\\n' > /tmp/film.mkv && chown 1000:1000 /tmp/film.mkv && " +
		"mv /tmp/film.mkv /srv/simplecloud/alice/Sync/ && ls -ln /srv/simplecloud/alice/Sync"
	fmt.Printf("\n--- in the guest, as root: a finished download is moved into alice's folder\n$ %s\n", step)
	start := time.Now()
	r, err := m.Run(ctx, "sh", "-c", step)
	if err != nil || r.Exit != 0 {
		return fmt.Errorf("move the file in the guest: %v %s", err, r.Stderr)
	}
	os.Stdout.Write(r.Stdout)
	got := filepath.Join(local, "film.mkv")
	if err := poll(30*time.Second, func() bool { b, _ := os.ReadFile(got); return len(b) > 0 }); err != nil {
		return fmt.Errorf("the file did not arrive on this machine: %w", err)
	}
	b, _ := os.ReadFile(got)
	fmt.Printf("   on this machine %v later (the guest's command round trip included): %s = %q\n",
		time.Since(start).Round(time.Millisecond), got, strings.TrimSpace(string(b)))

	note := filepath.Join(local, "from-the-laptop.txt")
	if err := os.WriteFile(note, []byte("written on the client\n"), 0o644); err != nil {
		return err
	}
	fmt.Printf("\n--- on this machine: %s written; in the guest:\n", note)
	err = poll(30*time.Second, func() bool {
		r, err := m.Run(ctx, "cat", "/srv/simplecloud/alice/Sync/from-the-laptop.txt")
		return err == nil && r.Exit == 0
	})
	if err != nil {
		return fmt.Errorf("the file did not reach the server: %w", err)
	}
	r, _ = m.Run(ctx, "ls", "-ln", "/srv/simplecloud/alice/Sync")
	os.Stdout.Write(r.Stdout)

	cmd.Process.Signal(syscall.SIGTERM)
	if err := cmd.Wait(); err != nil {
		return fmt.Errorf("simplecloud sync after SIGTERM: %w", err)
	}
	fmt.Println("   simplecloud sync stopped on SIGTERM, exit status 0")
	return nil
}

// waitLine waits for a line containing want.
func waitLine(lines <-chan string, want string, d time.Duration) error {
	deadline := time.After(d)
	for {
		select {
		case l, ok := <-lines:
			if !ok {
				return fmt.Errorf("simplecloud sync exited")
			}
			if strings.Contains(l, want) {
				return nil
			}
			if strings.Contains(l, `"error"`) {
				fmt.Println("   " + l)
			}
		case <-deadline:
			return fmt.Errorf("no %s within %v", want, d)
		}
	}
}

// poll calls ok until it is true or d passes.
func poll(d time.Duration, ok func() bool) error {
	deadline := time.Now().Add(d)
	for !ok() {
		if time.Now().After(deadline) {
			return fmt.Errorf("not within %v", d)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return nil
}

// listDir names a directory's entries.
func listDir(dir string) string {
	ents, _ := os.ReadDir(dir)
	var names []string
	for _, e := range ents {
		if !strings.HasPrefix(e.Name(), ".simplecloud") {
			names = append(names, e.Name())
		}
	}
	if len(names) == 0 {
		return "nothing yet"
	}
	return strings.Join(names, " ")
}
