package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestImageDataErrors checks the exit codes and messages of image data's
// refusals, and that none of them leaves a file behind.
func TestImageDataErrors(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "src")
	key := filepath.Join(dir, "key")
	exists := filepath.Join(dir, "exists.img")
	for _, err := range []error{
		os.Mkdir(src, 0o755),
		os.WriteFile(filepath.Join(src, "big"), bytes.Repeat([]byte{1}, 6<<20), 0o644),
		os.WriteFile(key, []byte("pass"), 0o600),
		os.WriteFile(exists, []byte("keep"), 0o600),
	} {
		if err != nil {
			t.Fatal(err)
		}
	}
	fast := []string{"--pbkdf", "pbkdf2", "--pbkdf-force-iterations", "1000"}
	for _, tc := range []struct {
		name string
		args []string
		code int
		msg  string
	}{
		{"missing dir", []string{"new.img", "--size", "64M", "--from", filepath.Join(dir, "nope"), "--key-file", key}, exitUsage, "no such file"},
		{"existing out", []string{exists, "--size", "64M", "--from", src, "--key-file", key}, exitUsage, "--force"},
		{"bad size", []string{"new.img", "--size", "12Q", "--from", src, "--key-file", key}, exitUsage, "--size"},
		{"size below header", []string{"new.img", "--size", "16M", "--from", src, "--key-file", key}, exitUsage, "too small"},
		{"dir too big", []string{"new.img", "--size", "21M", "--from", src, "--key-file", key}, exitError, "does not fit"},
		{"bad key file", []string{"new.img", "--size", "64M", "--from", src, "--key-file", filepath.Join(dir, "nokey")}, exitError, "read key file"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"image", "data"}, tc.args...)
			args = append(args, fast...)
			for i, a := range args {
				if a == "new.img" {
					args[i] = filepath.Join(dir, a)
				}
			}
			var out, errb bytes.Buffer
			if code := run(args, strings.NewReader(""), &out, &errb); code != tc.code || !strings.Contains(errb.String(), tc.msg) {
				t.Errorf("exit %d, stderr %q; want %d and %q", code, errb.String(), tc.code, tc.msg)
			}
			left, _ := filepath.Glob(filepath.Join(dir, "*new.img*"))
			if len(left) != 0 {
				t.Errorf("files left behind: %v", left)
			}
			if b, _ := os.ReadFile(exists); string(b) != "keep" {
				t.Errorf("%s was changed to %q", exists, b)
			}
		})
	}
}
