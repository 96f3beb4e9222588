package replica

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"testing"

	"simplecloud/internal/testutil"
)

// ceph is the real S3 engine of these tests, started on first use.
var ceph = &testutil.Ceph{Dir: "/tmp/s3-replica", S3Port: "7481", MonPort: "3301"}

func TestMain(m *testing.M) {
	code := m.Run()
	ceph.Down()
	os.Exit(code)
}

// newS3Bucket makes a fresh bucket of a random name in the test's Ceph.
func newS3Bucket(t *testing.T) (*S3, S3Options) {
	t.Helper()
	env := ceph.Up(t)
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
