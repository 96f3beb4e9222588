package images

import (
	"os/exec"
	"path/filepath"
	"testing"
)

func TestNeedsDynamic(t *testing.T) {
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skip("no sh on this machine")
	}
	sh, _ = filepath.EvalSymlinks(sh)
	interp, libs, err := Needs(sh)
	if err != nil {
		t.Fatal(err)
	}
	if interp == "" {
		t.Errorf("got no interpreter for %s, want the dynamic loader", sh)
	}
	var libc, gcc bool
	for _, l := range libs {
		switch filepath.Base(l) {
		case "libc.so.6":
			libc = true
		case "libgcc_s.so.1":
			gcc = true
		}
	}
	if !libc || !gcc {
		t.Errorf("got libs %v, want libc.so.6 and libgcc_s.so.1 among them", libs)
	}
}

func TestNeedsStatic(t *testing.T) {
	bb, err := exec.LookPath("busybox")
	if err != nil {
		t.Skip("busybox-static not installed")
	}
	interp, libs, err := Needs(bb)
	if err != nil {
		t.Fatal(err)
	}
	if interp != "" || len(libs) != 0 {
		t.Errorf("got interp %q libs %v for static busybox, want none", interp, libs)
	}
}

func TestNeedsNotELF(t *testing.T) {
	if _, _, err := Needs("/etc/hostname"); err == nil {
		t.Error("got nil error for a text file")
	}
}
