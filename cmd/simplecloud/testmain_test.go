package main

import (
	"os"
	"slices"
	"testing"
)

// TestMain runs the test binary as simplecloud itself when the unlock
// tests' server re-executes it for a connection (serve-conn) or a test
// asks for it, and stops the replica tests' Ceph after the tests.
func TestMain(m *testing.M) {
	if slices.Contains(os.Args[1:], "serve-conn") || os.Getenv("SIMPLECLOUD_TEST_AS_MAIN") == "1" {
		os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
	}
	code := m.Run()
	ceph.Down()
	os.Exit(code)
}
