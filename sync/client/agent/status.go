package agent

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"golang.org/x/sys/unix"

	"simplecloud/sync/client"
	"simplecloud/sync/client/remote"
)

// States of a folder.
const (
	StateStarting = "starting" // connecting, or mounting
	StateIdle     = "idle"     // in step; watching both sides
	StateSyncing  = "syncing"  // a run is carrying out its plan
	StateMounted  = "mounted"  // a stream folder's sshfs mount is up
	StatePaused   = "paused"
	StateError    = "error" // Error says why; retried with back-off
	StateStopped  = "stopped"
)

// FolderStatus is one folder's line of `simplecloud status`.
type FolderStatus struct {
	Name      string    `json:"name"`
	Mode      string    `json:"mode"`
	Local     string    `json:"local"`
	Remote    string    `json:"remote"`
	State     string    `json:"state"`
	Encrypted bool      `json:"encrypted,omitempty"` // zero-knowledge: the server holds only ciphertext
	Key       string    `json:"key,omitempty"`       // the folder key's id, once known
	Error     string    `json:"error,omitempty"`
	LastSync  time.Time `json:"last_sync,omitzero"`
	Conflicts int       `json:"conflicts"` // conflict copies made since the client started
	// The run in progress: files and bytes it writes, up to the server
	// and down from it, and how far it is (both ways together; bytes
	// on the wire).
	PendingFiles     int64 `json:"pending_files"`
	PendingBytes     int64 `json:"pending_bytes"`
	PendingUpFiles   int64 `json:"pending_up_files"`
	PendingUpBytes   int64 `json:"pending_up_bytes"`
	PendingDownFiles int64 `json:"pending_down_files"`
	PendingDownBytes int64 `json:"pending_down_bytes"`
	DoneFiles        int64 `json:"done_files"`
	DoneBytes        int64 `json:"done_bytes"`
	// Nodes are the machines that synced the folder, as the server
	// recorded them at this machine's last sync (sync folders only).
	Nodes []NodeStatus `json:"nodes,omitempty"`
}

// Status is what the running client writes for `simplecloud status`.
type Status struct {
	PID     int            `json:"pid"`
	Started time.Time      `json:"started"`
	Updated time.Time      `json:"updated"`
	Folders []FolderStatus `json:"folders"`
	Running bool           `json:"running"` // set by ReadStatus: PID is alive
}

// RuntimeDir returns the directory of the client's status file and ssh
// control sockets: $XDG_RUNTIME_DIR/simplecloud, or /tmp/simplecloud-UID
// (made 0700 and checked to be the user's own).
func RuntimeDir() (string, error) {
	dir := filepath.Join(os.Getenv("XDG_RUNTIME_DIR"), "simplecloud")
	if os.Getenv("XDG_RUNTIME_DIR") == "" {
		dir = filepath.Join(os.TempDir(), "simplecloud-"+strconv.Itoa(os.Getuid()))
	}
	if err := os.Mkdir(dir, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
		return "", fmt.Errorf("make %s: %w", dir, err)
	}
	var st unix.Stat_t
	if err := unix.Lstat(dir, &st); err != nil {
		return "", fmt.Errorf("check %s: %w", dir, err)
	}
	if st.Mode&unix.S_IFMT != unix.S_IFDIR || int(st.Uid) != os.Getuid() || st.Mode&0o077 != 0 {
		return "", fmt.Errorf("%s is not a private directory of this user", dir)
	}
	return dir, nil
}

func statusPath(runtimeDir string) string { return filepath.Join(runtimeDir, "client-status.json") }

// writeStatus replaces the status file atomically.
func writeStatus(runtimeDir string, s *Status) error {
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return err
	}
	f, err := os.CreateTemp(runtimeDir, ".client-status-*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	if _, err := f.Write(b); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), statusPath(runtimeDir))
}

// ReadStatus returns what the client wrote last and whether it still
// runs. Without a running client the folders are those of cfg, paused or
// stopped, with the time of their last sync from the sync state files in
// stateDir.
func ReadStatus(runtimeDir, stateDir string, cfg *Config) (*Status, error) {
	var s Status
	b, err := os.ReadFile(statusPath(runtimeDir))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("read the client's status: %w", err)
	}
	if err == nil {
		if err := json.Unmarshal(b, &s); err != nil {
			return nil, fmt.Errorf("read the client's status: %w", err)
		}
		s.Running = s.PID > 0 && unix.Kill(s.PID, 0) == nil
	}
	if s.Running {
		return &s, nil
	}
	s.Folders = nil
	for _, f := range cfg.Folders {
		fs := FolderStatus{Name: f.Name, Mode: f.Mode, Local: f.Local, Remote: f.Remote, State: StateStopped,
			Encrypted: f.Encrypt, Key: f.Key}
		if f.Paused {
			fs.State = StatePaused
		}
		fs.LastSync = lastSync(stateDir, f)
		s.Folders = append(s.Folders, fs)
	}
	return &s, nil
}

// lastSync is when the sync state of folder f was last written (the last
// run that changed anything); zero for a stream folder or none yet.
func lastSync(stateDir string, f Folder) time.Time {
	t, err := remote.ParseTarget(f.Remote)
	if err != nil || f.Mode != ModeSync {
		return time.Time{}
	}
	fi, err := os.Stat(client.StatePath(stateDir, f.Local, t.String()))
	if err != nil {
		return time.Time{}
	}
	return fi.ModTime().UTC()
}

// UnitName is the systemd user unit `simplecloud client enable` installs.
const UnitName = "simplecloud-client.service"

// UserUnit is the text of UnitName, running exe.
func UserUnit(exe string) string {
	return `[Unit]
Description=SimpleCloud client: keeps the folders of client.toml in step
Documentation=man:simplecloud-client(1)
After=network-online.target
Wants=network-online.target

[Service]
ExecStart=` + exe + ` client run
Restart=on-failure
RestartSec=5
# The first SIGTERM lets each folder finish the file in flight.
TimeoutStopSec=45

[Install]
WantedBy=default.target
`
}
