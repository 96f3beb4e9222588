//go:build bench

package server_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"simplecloud/internal/testutil"
)

// stNode is one Syncthing instance of the latency reference: its home,
// folder, device id, REST address and key.
type stNode struct {
	home, folder, id, gui, key, listen string
	cmd                                *exec.Cmd
}

var (
	stDeviceID = regexp.MustCompile(`<device id="([A-Z0-9-]+)"`)
	stAPIKey   = regexp.MustCompile(`<apikey>([^<]+)</apikey>`)
)

// newSTNode generates a Syncthing home whose options keep it on this
// machine: no discovery, relays, NAT, upgrades or usage reports; it
// listens and serves its REST API on free loopback ports.
func newSTNode(t *testing.T, dir string) (*stNode, error) {
	n := &stNode{home: filepath.Join(dir, "home"), folder: filepath.Join(dir, "folder"),
		gui: "127.0.0.1:" + freePort(t), listen: "127.0.0.1:" + freePort(t)}
	if out, err := exec.Command("syncthing", "generate", "--home="+n.home, "--no-default-folder", "--skip-port-probing").CombinedOutput(); err != nil {
		return nil, fmt.Errorf("syncthing generate: %v: %s", err, out)
	}
	b, err := os.ReadFile(filepath.Join(n.home, "config.xml"))
	if err != nil {
		return nil, err
	}
	cfg := string(b)
	m, k := stDeviceID.FindStringSubmatch(cfg), stAPIKey.FindStringSubmatch(cfg)
	if m == nil || k == nil {
		return nil, fmt.Errorf("no device id or API key in the generated config")
	}
	n.id, n.key = m[1], k[1]
	for old, new := range map[string]string{
		"<listenAddress>default</listenAddress>":              "<listenAddress>tcp://" + n.listen + "</listenAddress>",
		"<address>127.0.0.1:8384</address>":                   "<address>" + n.gui + "</address>",
		"<globalAnnounceEnabled>true</globalAnnounceEnabled>": "<globalAnnounceEnabled>false</globalAnnounceEnabled>",
		"<localAnnounceEnabled>true</localAnnounceEnabled>":   "<localAnnounceEnabled>false</localAnnounceEnabled>",
		"<relaysEnabled>true</relaysEnabled>":                 "<relaysEnabled>false</relaysEnabled>",
		"<natEnabled>true</natEnabled>":                       "<natEnabled>false</natEnabled>",
		"<startBrowser>true</startBrowser>":                   "<startBrowser>false</startBrowser>",
		"<urAccepted>0</urAccepted>":                          "<urAccepted>-1</urAccepted>",
		"<autoUpgradeIntervalH>12</autoUpgradeIntervalH>":     "<autoUpgradeIntervalH>0</autoUpgradeIntervalH>",
		"<crashReportingEnabled>true</crashReportingEnabled>": "<crashReportingEnabled>false</crashReportingEnabled>",
	} {
		if !strings.Contains(cfg, old) {
			return nil, fmt.Errorf("generated config lacks %s", old)
		}
		cfg = strings.Replace(cfg, old, new, 1)
	}
	if err := os.WriteFile(filepath.Join(n.home, "config.xml"), []byte(cfg), 0o600); err != nil {
		return nil, err
	}
	return n, os.MkdirAll(filepath.Join(n.folder, ".stfolder"), 0o755)
}

// start runs the instance with the folder shared with peer, its watcher
// batching changes for delay seconds.
func (n *stNode) start(t *testing.T, peer *stNode, delay int) error {
	p := filepath.Join(n.home, "config.xml")
	b, err := os.ReadFile(p)
	if err != nil {
		return err
	}
	folder := fmt.Sprintf(`<folder id="bench" label="bench" path="%s" type="sendreceive" rescanIntervalS="3600" fsWatcherEnabled="true" fsWatcherDelayS="%d">
        <device id="%s"></device>
        <device id="%s"></device>
    </folder>
    <device id="%s" name="peer" compression="metadata" introducer="false">
        <address>tcp://%s</address>
    </device>
`, n.folder, delay, n.id, peer.id, peer.id, peer.listen)
	cfg := string(b)
	i := strings.Index(cfg, "<device id=")
	cfg = cfg[:i] + folder + "    " + cfg[i:]
	if err := os.WriteFile(p, []byte(cfg), 0o600); err != nil {
		return err
	}
	n.cmd = exec.Command("syncthing", "serve", "--home="+n.home, "--no-browser", "--no-restart", "--no-upgrade")
	n.cmd.Env = append(os.Environ(), "STNOUPGRADE=1", "STNORESTART=1")
	log, err := os.Create(filepath.Join(n.home, "log"))
	if err != nil {
		return err
	}
	n.cmd.Stdout, n.cmd.Stderr = log, log
	if err := n.cmd.Start(); err != nil {
		return err
	}
	t.Cleanup(func() { n.cmd.Process.Kill(); n.cmd.Wait(); log.Close() })
	return nil
}

// get fetches a REST endpoint into v.
func (n *stNode) get(path string, v any) error {
	req, _ := http.NewRequest("GET", "http://"+n.gui+path, nil)
	req.Header.Set("X-API-Key", n.key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", path, resp.Status)
	}
	return json.NewDecoder(resp.Body).Decode(v)
}

// ready waits until the instance is connected to peer and its folder idle.
func (n *stNode) ready(peer *stNode) error {
	var last error
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		var conns struct {
			Connections map[string]struct{ Connected bool } `json:"connections"`
		}
		var status struct{ State string }
		last = n.get("/rest/system/connections", &conns)
		if last == nil && conns.Connections[peer.id].Connected {
			if last = n.get("/rest/db/status?folder=bench", &status); last == nil && status.State == "idle" {
				return nil
			}
			last = fmt.Errorf("folder %q", status.State)
		} else if last == nil {
			last = fmt.Errorf("not connected to the peer yet")
		}
		time.Sleep(200 * time.Millisecond) // polling a REST API against a deadline
	}
	b, _ := os.ReadFile(filepath.Join(n.home, "log"))
	return fmt.Errorf("syncthing not ready: %v\n%s", last, b)
}

// syncthingLatency measures, with two Syncthing instances on this machine
// whose watchers batch for delay seconds, how long n files moved into one
// instance's folder take to appear in the other's.
func syncthingLatency(t *testing.T, work string, n, delay int) ([]time.Duration, error) {
	dir := filepath.Join(work, fmt.Sprintf("syncthing-%d", delay))
	server, err := newSTNode(t, filepath.Join(dir, "server"))
	if err != nil {
		return nil, err
	}
	client, err := newSTNode(t, filepath.Join(dir, "client"))
	if err != nil {
		return nil, err
	}
	if err := server.start(t, client, delay); err != nil {
		return nil, err
	}
	if err := client.start(t, server, delay); err != nil {
		return nil, err
	}
	for _, x := range []struct{ a, b *stNode }{{server, client}, {client, server}} {
		if err := x.a.ready(x.b); err != nil {
			return nil, err
		}
	}
	var ds []time.Duration
	for i := range n {
		tmp := filepath.Join(dir, "incoming")
		os.WriteFile(tmp, []byte(fmt.Sprintf("change %d", i)), 0o644)
		name := fmt.Sprintf("c%03d", i)
		start := time.Now()
		if err := os.Rename(tmp, filepath.Join(server.folder, name)); err != nil {
			return nil, err
		}
		testutil.Eventually(t, time.Duration(delay+30)*time.Second, func() error {
			_, err := os.Stat(filepath.Join(client.folder, name))
			return err
		})
		ds = append(ds, time.Since(start))
	}
	slices.Sort(ds)
	return ds, nil
}

// syncthingRow runs the reference with Syncthing's default watcher delay
// (10 s; fewer changes, as each takes that long) and with 1 s, and
// formats both for the latency row; a Syncthing that cannot start is
// reported, not failed.
func syncthingRow(t *testing.T, work string) string {
	if _, err := exec.LookPath("syncthing"); err != nil {
		return "Syncthing: not installed"
	}
	pct := func(ds []time.Duration, p int) time.Duration {
		return ds[min(len(ds)-1, len(ds)*p/100)].Round(time.Millisecond)
	}
	var parts []string
	for _, c := range []struct{ n, delay int }{{10, 10}, {100, 1}} {
		ds, err := syncthingLatency(t, work, c.n, c.delay)
		if err != nil {
			t.Logf("Syncthing (fsWatcherDelayS=%d): %v", c.delay, err)
			parts = append(parts, fmt.Sprintf("Syncthing fsWatcherDelayS=%d: did not run (see the log)", c.delay))
			continue
		}
		parts = append(parts, fmt.Sprintf("Syncthing fsWatcherDelayS=%d (%d changes) p50 %v, p99 %v", c.delay, c.n, pct(ds, 50), pct(ds, 99)))
	}
	return strings.Join(parts, "; ")
}
