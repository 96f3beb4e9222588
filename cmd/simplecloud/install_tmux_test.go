package main

import (
	"bytes"
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"simplecloud/internal/testutil"
	"simplecloud/provision"
)

var (
	buildMu  sync.Mutex
	builtBin string
)

// buildOnce builds the simplecloud binary once per test process.
func buildOnce(t *testing.T) string {
	t.Helper()
	buildMu.Lock()
	defer buildMu.Unlock()
	if builtBin != "" {
		return builtBin
	}
	dir, err := os.MkdirTemp("", "sc-bin-")
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "simplecloud")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	builtBin = bin
	return bin
}

// tmuxSession runs the real binary in a real terminal of 80x24 (tmux) and
// reads the screen.
type tmuxSession struct {
	t    *testing.T
	name string
}

func startTmux(t *testing.T, argv ...string) *tmuxSession {
	t.Helper()
	bin := buildOnce(t)
	s := &tmuxSession{t: t, name: fmt.Sprintf("sc-%s-%d", t.Name(), os.Getpid())}
	shell := bin + " " + strings.Join(argv, " ") + "; echo EXIT=$?; sleep 600"
	if out, err := exec.Command("tmux", "new-session", "-d", "-s", s.name, "-x", "80", "-y", "24", shell).CombinedOutput(); err != nil {
		t.Fatalf("tmux new-session: %v\n%s", err, out)
	}
	t.Cleanup(func() { exec.Command("tmux", "kill-session", "-t", s.name).Run() })
	return s
}

func (s *tmuxSession) screen() string {
	out, err := exec.Command("tmux", "capture-pane", "-p", "-t", s.name).Output()
	if err != nil {
		s.t.Fatalf("tmux capture-pane: %v", err)
	}
	return string(out)
}

// wait polls the screen until it contains want.
func (s *tmuxSession) wait(want string) string {
	s.t.Helper()
	var scr string
	testutil.Eventually(s.t, 60*time.Second, func() error {
		if scr = s.screen(); !strings.Contains(scr, want) {
			return fmt.Errorf("screen never showed %q; last screen:\n%s", want, scr)
		}
		return nil
	})
	return scr
}

func (s *tmuxSession) keys(keys ...string) {
	s.t.Helper()
	if out, err := exec.Command("tmux", append([]string{"send-keys", "-t", s.name}, keys...)...).CombinedOutput(); err != nil {
		s.t.Fatalf("tmux send-keys: %v\n%s", err, out)
	}
}

// typeText sends text literally (no key-name lookup).
func (s *tmuxSession) typeText(text string) {
	s.t.Helper()
	if out, err := exec.Command("tmux", "send-keys", "-t", s.name, "-l", text).CombinedOutput(); err != nil {
		s.t.Fatalf("tmux send-keys -l: %v\n%s", err, out)
	}
}

// choose moves the disk list's cursor to the line with dev and selects it.
func (s *tmuxSession) choose(dev string) {
	s.t.Helper()
	for range 20 {
		for _, l := range strings.Split(s.wait("> "), "\n") {
			if strings.HasPrefix(l, "> ") && strings.Contains(l, " "+dev+" ") {
				s.keys("Enter")
				return
			}
		}
		before := s.screen()
		s.keys("Down")
		// On the last line the cursor stays: go on when the wait ends either way.
		_ = testutil.Poll(5*time.Second, func() error {
			if s.screen() == before {
				return errors.New("the screen did not change")
			}
			return nil
		})
	}
	s.t.Fatalf("%s is not among the eligible disks:\n%s", dev, s.screen())
}

func fillRandom(t *testing.T, path string, n int64) []byte {
	b := make([]byte, n)
	rand.Read(b)
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return b
}

// TestTmuxInstallerCancel: Esc on the first screen writes nothing.
func TestTmuxInstallerCancel(t *testing.T) {
	testutil.NeedRoot(t, "tmux", "losetup")
	dev, backing := attachLoop(t, 32<<20)
	want := fillRandom(t, backing, 32<<20)
	s := startTmux(t, "install", "--etc", t.TempDir())
	s.wait("Choose the data disk")
	s.keys("Escape")
	s.wait("EXIT=1")
	if scr := s.screen(); !strings.Contains(scr, "nothing was written") {
		t.Errorf("screen after Esc lacks 'nothing was written':\n%s", scr)
	}
	got, _ := os.ReadFile(backing)
	if !bytes.Equal(got, want) {
		t.Errorf("the cancelled installer changed %s", dev)
	}
}

// TestTmuxInstallerLoop walks the installer in tmux on a loop device: pick
// the disk, confirm it by name, zero wipe, passphrase twice; the install
// wipes and formats, then stops at the open step because this host kernel
// has no device-mapper. cryptsetup checks the header it wrote.
func TestTmuxInstallerLoop(t *testing.T) {
	testutil.NeedRoot(t, "tmux", "losetup", "cryptsetup")
	dev, backing := attachLoop(t, 64<<20)
	fillRandom(t, backing, 64<<20)
	id := listDisk(t, dev).ID
	etc := t.TempDir()
	s := startTmux(t, "install", "--whole-disk", "--pbkdf", "pbkdf2", "--pbkdf-force-iterations", "1000", "--etc", etc, "--mount", filepath.Join(t.TempDir(), "m"))
	s.wait("Choose the data disk")
	s.choose(dev)
	s.wait("Enter use this disk")
	s.keys("Enter")
	s.wait("Type the disk's name to confirm")
	s.typeText(id + "x")
	s.keys("Enter")
	s.wait("does not match")
	s.typeText(id)
	s.keys("Enter")
	s.wait("be wiped first?")
	s.keys("Down", "Down", "Enter") // zero
	s.wait("Choose the passphrase")
	s.typeText("correct horse battery")
	s.keys("Enter")
	s.typeText("correct horse battery")
	s.keys("Enter")
	s.wait("Add a recovery key?")
	s.keys("Enter")
	scr := s.wait("The install stopped.")
	if !strings.Contains(scr, "Step open failed") || !strings.Contains(scr, "mapper/control") {
		t.Errorf("want the open step to fail for lack of device-mapper:\n%s", scr)
	}
	if strings.Contains(scr, "correct horse") {
		t.Error("the passphrase is on the screen")
	}
	s.keys("Enter")
	s.wait("EXIT=1")

	out, err := exec.Command("cryptsetup", "luksDump", dev).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "Label:         \tsimplecloud") {
		t.Fatalf("cryptsetup luksDump %s: %v\n%s", dev, err, out)
	}
	b, _ := os.ReadFile(backing)
	if !bytes.Equal(b[32<<20:], make([]byte, 32<<20)) {
		t.Error("the data area is not zeroed: the wipe did not run")
	}
	st, err := provision.LoadState(filepath.Join(etc, "simplecloud", "install-state.toml"))
	if err != nil || st == nil || st.Disk != id || !st.Has(provision.StepWipe) || !st.Has(provision.StepFormat) {
		t.Errorf("got state %+v, %v; want wipe and format recorded for %s", st, err, id)
	}
}
