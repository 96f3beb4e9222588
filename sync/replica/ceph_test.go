package replica

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
)

// The real S3 engine of these tests: a single-node Ceph RGW started by
// ../shared/ceph/ceph-s3.sh on first use and stopped by TestMain.
const (
	cephDir     = "/tmp/s3-replica"
	cephS3Port  = "7481"
	cephMonPort = "3301"
)

var ceph struct {
	once    sync.Once
	env     map[string]string
	err     error
	started bool
}

func TestMain(m *testing.M) {
	code := m.Run()
	if ceph.started {
		cmd := exec.Command(cephScript(), "down", cephDir)
		if out, err := cmd.CombinedOutput(); err != nil {
			fmt.Fprintf(os.Stderr, "ceph-s3.sh down: %v\n%s", err, out)
		}
	}
	os.Exit(code)
}

// cephScript finds ceph-s3.sh: $SIMPLECLOUD_CEPH_S3, else ../shared/ceph
// beside the repository's parent (the layout of this project's machines).
func cephScript() string {
	if p := os.Getenv("SIMPLECLOUD_CEPH_S3"); p != "" {
		return p
	}
	_, file, _, _ := runtime.Caller(0)
	repo := filepath.Dir(filepath.Dir(filepath.Dir(file)))
	return filepath.Join(filepath.Dir(repo), "shared", "ceph", "ceph-s3.sh")
}

// cephUp starts Ceph once and returns its environment (AWS_ENDPOINT_URL,
// keys). Where it cannot start the test fails with the reason, unless
// SIMPLECLOUD_SKIP_CEPH=1 (then it skips).
func cephUp(t *testing.T) map[string]string {
	t.Helper()
	ceph.once.Do(func() {
		script := cephScript()
		if _, err := os.Stat(script); err != nil {
			ceph.err = fmt.Errorf("ceph-s3.sh not found (set SIMPLECLOUD_CEPH_S3): %w", err)
			return
		}
		for _, b := range []string{"ceph-mon", "ceph-osd", "ceph-mgr", "radosgw", "ceph"} {
			if _, err := exec.LookPath(b); err != nil {
				ceph.err = fmt.Errorf("missing %s: apt-get install --no-install-recommends ceph-mon ceph-mgr ceph-osd radosgw ceph-common curl", b)
				return
			}
		}
		cmd := exec.Command(script, "up", cephDir)
		cmd.Env = append(os.Environ(), "CEPH_S3_PORT="+cephS3Port, "CEPH_MON_PORT="+cephMonPort)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		ceph.started = true
		if err != nil {
			ceph.err = fmt.Errorf("ceph-s3.sh up: %w\n%s", err, stderr.String())
			return
		}
		ceph.env = parseExports(out)
	})
	if ceph.err != nil {
		if os.Getenv("SIMPLECLOUD_SKIP_CEPH") == "1" {
			t.Skipf("no Ceph (SIMPLECLOUD_SKIP_CEPH=1): %v", ceph.err)
		}
		t.Fatalf("a real S3 engine is needed (set SIMPLECLOUD_SKIP_CEPH=1 to skip): %v", ceph.err)
	}
	return ceph.env
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

// newS3Bucket makes a fresh bucket of a random name in the test's Ceph.
func newS3Bucket(t *testing.T) (*S3, S3Options) {
	t.Helper()
	env := cephUp(t)
	var b [6]byte
	rand.Read(b[:])
	o := S3Options{
		Endpoint:  env["AWS_ENDPOINT_URL"],
		Bucket:    "replica-" + hex.EncodeToString(b[:]),
		Region:    env["AWS_DEFAULT_REGION"],
		AccessKey: env["AWS_ACCESS_KEY_ID"],
		SecretKey: env["AWS_SECRET_ACCESS_KEY"],
	}
	s, err := NewS3(o)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Ensure(context.Background()); err != nil {
		t.Fatal(err)
	}
	return s, o
}
