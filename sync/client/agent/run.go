package agent

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"simplecloud/sync/client"
	"simplecloud/sync/client/remote"
)

// Agent keeps every folder of a client configuration going: sync folders
// through the sync engine (client.Watch), stream folders mounted with
// sshfs and mounted again when sshfs ends. The folders of one host share
// one SSH connection (OpenSSH's ControlMaster, sockets in RuntimeDir). It
// reads the configuration again when the file changes, so that `client
// add|remove|pause|resume` take effect while it runs.
type Agent struct {
	ConfigPath string
	StateDir   string // the sync engine's (client.StateDir())
	RuntimeDir string // the status file and control sockets (RuntimeDir())
	Version    string // for the sync protocol's hello
	Host       string // names this machine in conflict copies
	Logger     *slog.Logger
	Stderr     io.Writer     // ssh's and sshfs's own messages
	Poll       time.Duration // how often the configuration and status are looked at (default 1 s)
	SSHFS      string        // the sshfs program (default "sshfs")
	KeyDir     string        // the folder keys (keystore.DefaultDir)

	mu      sync.Mutex
	folders map[string]*worker
	started time.Time
	node    string // this machine's node id
}

// worker runs one folder.
type worker struct {
	f      Folder
	cancel context.CancelFunc
	stop   chan struct{} // closed: finish the run in flight, then end
	done   chan struct{}

	mu       sync.Mutex
	st       FolderStatus
	progress *client.Progress
	ready    chan struct{} // closed when the folder is first past starting
	once     sync.Once
}

func (w *worker) set(fn func(*FolderStatus)) {
	w.mu.Lock()
	defer w.mu.Unlock()
	fn(&w.st)
	if w.st.State != StateStarting {
		w.once.Do(func() { close(w.ready) })
	}
}

// status is the folder's status now, with the run in progress.
func (w *worker) status() FolderStatus {
	w.mu.Lock()
	st := w.st
	w.mu.Unlock()
	if w.progress != nil {
		if p := w.progress.Snapshot(); p.Active && st.State == StateIdle {
			st.State = StateSyncing
			st.PendingFiles, st.PendingBytes, st.DoneFiles, st.DoneBytes = p.Files, p.Bytes, p.FilesDone, p.BytesDone
			st.PendingUpFiles, st.PendingUpBytes = p.UpFiles, p.UpBytes
			st.PendingDownFiles, st.PendingDownBytes = p.DownFiles, p.DownBytes
		}
	}
	return st
}

// Run keeps the folders going until ctx ends: then every sync folder
// finishes the file in flight and every stream folder is unmounted.
func (a *Agent) Run(ctx context.Context) error {
	if a.Logger == nil {
		a.Logger = slog.New(slog.DiscardHandler)
	}
	if a.Poll <= 0 {
		a.Poll = time.Second
	}
	if a.Stderr == nil {
		a.Stderr = os.Stderr
	}
	cfg, err := Load(a.ConfigPath)
	if err != nil {
		return err
	}
	if a.node, err = NodeID(a.ConfigPath); err != nil {
		return err
	}
	a.folders = map[string]*worker{}
	a.started = time.Now()
	seen := fileID(a.ConfigPath)
	a.apply(ctx, cfg)
	defer a.stopAll()
	tick := time.NewTicker(a.Poll)
	defer tick.Stop()
	for {
		a.writeStatus()
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
		if id := fileID(a.ConfigPath); id != seen {
			seen = id
			next, err := Load(a.ConfigPath)
			if err != nil {
				a.Logger.Error("configuration not applied; the folders run as before", "err", err)
				continue
			}
			a.Logger.Info("configuration changed", "folders", len(next.Folders))
			a.apply(ctx, next)
		}
	}
}

// fileID is what tells that the configuration file was replaced or
// written: its inode, size and mtime (not the whole stat, whose atime a
// read may change).
func fileID(p string) string {
	fi, err := os.Stat(p)
	if err != nil {
		return "missing"
	}
	var ino uint64
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		ino = st.Ino
	}
	return fmt.Sprint(ino, fi.Size(), fi.ModTime().UnixNano())
}

// apply starts the folders of cfg that do not run as configured, and stops
// those no longer configured so (removed, changed or paused).
func (a *Agent) apply(ctx context.Context, cfg *Config) {
	want := map[string]Folder{}
	for _, f := range cfg.Folders {
		want[f.Name] = f
	}
	for name, w := range a.folders {
		if f, ok := want[name]; !ok || f != w.f {
			a.Logger.Info("stopping folder", "folder", name)
			w.end()
			a.mu.Lock()
			delete(a.folders, name)
			a.mu.Unlock()
		}
	}
	names := make([]string, 0, len(want))
	for n := range want {
		names = append(names, n)
	}
	slices.Sort(names)
	first := map[string]*worker{} // by host: the folder whose ssh the others share
	for _, name := range names {
		if _, ok := a.folders[name]; ok {
			continue
		}
		f := want[name]
		host := hostKey(f)
		w := a.start(ctx, f, first[host])
		if first[host] == nil && !f.Paused {
			first[host] = w
		}
		a.mu.Lock()
		a.folders[name] = w
		a.mu.Unlock()
	}
}

// hostKey names the SSH connection folder f uses.
func hostKey(f Folder) string {
	t, _ := remote.ParseTarget(f.Remote)
	return fmt.Sprintf("%s@%s:%d", t.User, t.Host, f.Port)
}

// start runs folder f in its own goroutine, once after (if any) has
// connected: the first ssh to a host becomes the connection the others
// share, and two starting at once would each make their own.
func (a *Agent) start(ctx context.Context, f Folder, after *worker) *worker {
	ctx, cancel := context.WithCancel(ctx)
	w := &worker{f: f, cancel: cancel, stop: make(chan struct{}), done: make(chan struct{}), ready: make(chan struct{}),
		st: FolderStatus{Name: f.Name, Mode: f.Mode, Local: f.Local, Remote: f.Remote, State: StateStarting,
			Encrypted: f.Encrypt, Key: f.Key}}
	log := a.Logger.With("folder", f.Name)
	go func() {
		defer close(w.done)
		if after != nil && !f.Paused {
			select {
			case <-after.ready:
			case <-time.After(20 * time.Second):
			case <-w.stop:
				return
			}
		}
		switch {
		case f.Paused:
			w.set(func(s *FolderStatus) { s.State = StatePaused })
			<-w.stop
		case f.Mode == ModeStream:
			a.stream(ctx, w, log)
		default:
			a.sync(ctx, w, log)
		}
	}()
	return w
}

// end asks the folder to finish and waits: a sync folder gets 30 s to
// finish its file in flight before it is interrupted.
func (w *worker) end() {
	close(w.stop)
	select {
	case <-w.done:
	case <-time.After(30 * time.Second):
		w.cancel()
		<-w.done
	}
	w.cancel()
}

func (a *Agent) stopAll() {
	var wg sync.WaitGroup
	for _, w := range a.folders {
		wg.Go(w.end)
	}
	wg.Wait()
	a.mu.Lock()
	for _, w := range a.folders {
		w.set(func(s *FolderStatus) { s.State = StateStopped })
	}
	a.mu.Unlock()
	a.writeStatus()
}

// writeStatus writes every folder's status for `simplecloud status`.
func (a *Agent) writeStatus() {
	s := Status{PID: os.Getpid(), Started: a.started, Updated: time.Now()}
	a.mu.Lock()
	for _, w := range a.folders {
		s.Folders = append(s.Folders, w.status())
	}
	a.mu.Unlock()
	slices.SortFunc(s.Folders, func(x, y FolderStatus) int { return strings.Compare(x.Name, y.Name) })
	if err := writeStatus(a.RuntimeDir, &s); err != nil {
		a.Logger.Warn("status not written", "err", err)
	}
}

// sshOptions are the ssh options of folder f: its own command (or ssh),
// sharing one connection per host through a control socket in RuntimeDir
// unless the command sets its own.
func (a *Agent) sshOptions(f Folder) remote.SSHOptions {
	o := remote.SSHOptions{Command: f.RSH, Port: f.Port, Identity: f.Identity}
	if o.Command == "" {
		o.Command = "ssh"
	}
	for _, opt := range a.controlOptions(f) {
		o.Command += " -o '" + opt + "'"
	}
	return o
}

// controlOptions share one SSH connection per host and user among the
// folders, and keep it a minute after the last one ends; none when the
// folder's own ssh command says how.
func (a *Agent) controlOptions(f Folder) []string {
	if strings.Contains(f.RSH, "ControlMaster") || strings.Contains(f.RSH, "ControlPath") {
		return nil
	}
	return []string{"ControlMaster=auto", "ControlPath=" + a.RuntimeDir + "/ssh-%C", "ControlPersist=60"}
}
