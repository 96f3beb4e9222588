package testutil

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
)

// Ceph is a single-node Ceph RGW (a real S3 endpoint on 127.0.0.1) that
// ../shared/ceph/ceph-s3.sh starts on first use: about 18 s and 0.6 GB.
// Each test package that uses one declares its own with its own Dir and
// ports (packages' tests run at once), and calls Down from TestMain.
type Ceph struct {
	Dir     string // state directory, at most 60 characters
	S3Port  string
	MonPort string

	once    sync.Once
	env     map[string]string
	err     error
	started bool
}

// cephScript finds ceph-s3.sh: $SIMPLECLOUD_CEPH_S3, else shared/ceph
// beside the repository (the layout of this project's machines).
func cephScript() string {
	if p := os.Getenv("SIMPLECLOUD_CEPH_S3"); p != "" {
		return p
	}
	_, file, _, _ := runtime.Caller(0)
	repo := filepath.Dir(filepath.Dir(filepath.Dir(file)))
	return filepath.Join(filepath.Dir(repo), "shared", "ceph", "ceph-s3.sh")
}

// Up starts the cluster once and returns its environment
// (AWS_ENDPOINT_URL, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY,
// AWS_DEFAULT_REGION). Where Ceph cannot start the test fails with the
// reason, unless SIMPLECLOUD_SKIP_CEPH=1 (then it skips).
func (c *Ceph) Up(t testing.TB) map[string]string {
	t.Helper()
	c.once.Do(func() {
		script := cephScript()
		if _, err := os.Stat(script); err != nil {
			c.err = fmt.Errorf("ceph-s3.sh not found (set SIMPLECLOUD_CEPH_S3): %w", err)
			return
		}
		for _, b := range []string{"ceph-mon", "ceph-osd", "ceph-mgr", "radosgw", "ceph", "curl"} {
			if _, err := exec.LookPath(b); err != nil {
				c.err = fmt.Errorf("missing %s: apt-get install --no-install-recommends ceph-mon ceph-mgr ceph-osd radosgw ceph-common curl", b)
				return
			}
		}
		cmd := exec.Command(script, "up", c.Dir)
		cmd.Env = append(os.Environ(), "CEPH_S3_PORT="+c.S3Port, "CEPH_MON_PORT="+c.MonPort)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		c.started = true
		if err != nil {
			c.err = fmt.Errorf("ceph-s3.sh up: %w\n%s", err, stderr.String())
			return
		}
		c.env = parseExports(out)
	})
	if c.err != nil {
		if os.Getenv("SIMPLECLOUD_SKIP_CEPH") == "1" {
			t.Skipf("no Ceph (SIMPLECLOUD_SKIP_CEPH=1): %v", c.err)
		}
		t.Fatalf("a real S3 engine is needed (set SIMPLECLOUD_SKIP_CEPH=1 to skip): %v", c.err)
	}
	return c.env
}

// Down stops the cluster if Up started it (for TestMain).
func (c *Ceph) Down() {
	if !c.started {
		return
	}
	if out, err := exec.Command(cephScript(), "down", c.Dir).CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "ceph-s3.sh down: %v\n%s", err, out)
	}
}

// parseExports reads the script's `export K=V` lines.
func parseExports(out []byte) map[string]string {
	env := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		k, v, ok := strings.Cut(strings.TrimPrefix(sc.Text(), "export "), "=")
		if ok {
			env[k] = strings.Trim(v, `'"`)
		}
	}
	return env
}
