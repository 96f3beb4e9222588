package agent

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"time"

	"simplecloud/internal/mountinfo"
	"simplecloud/sync/client"
	"simplecloud/sync/client/remote"
	"simplecloud/sync/core"
	"simplecloud/sync/seal"
	"simplecloud/sync/seal/keystore"
)

// defaultMaxDelete is sync's --max-delete default.
const defaultMaxDelete = 50

// sync keeps a sync folder in step until w.stop closes (the run in flight
// finishes) or ctx ends, as `simplecloud sync` without --once does.
func (a *Agent) sync(ctx context.Context, w *worker, log *slog.Logger) {
	f := w.f
	t, _ := remote.ParseTarget(f.Remote) // checked by Validate
	maxDelete := f.MaxDelete
	if maxDelete == 0 {
		maxDelete = defaultMaxDelete
	}
	w.progress = &client.Progress{}
	o := client.Options{
		Local: f.Local, RemoteName: t.String(), RemotePath: t.Path, StateDir: a.StateDir,
		Limits:    core.Limits{MaxDeletePercent: maxDelete, Grace: 2},
		LocalHost: a.Host, RemoteHost: t.Host, Out: io.Discard, Logger: log, Progress: w.progress,
	}
	if f.Encrypt {
		k, err := a.folderKey(f)
		if err != nil {
			w.set(func(st *FolderStatus) { st.State, st.Error = StateError, err.Error() })
			log.Error("folder stopped", "err", err)
			select {
			case <-w.stop:
			case <-ctx.Done():
			}
			return
		}
		o.Key = k
		w.set(func(st *FolderStatus) { st.Key = k.ID() })
	}
	ssh := a.sshOptions(f)
	var rc *remote.Client // the connection of the runs (Watch's goroutine only)
	connect := func(ctx context.Context) (*remote.Client, error) {
		c, err := client.Connect(ctx, t, ssh, "simplecloud/"+a.Version, a.Stderr)
		rc = c
		return c, err
	}
	var lastNode time.Time // the node record is refreshed at most once a minute
	report := func(s client.Summary, err error) {
		var nodes []NodeStatus
		if err == nil && rc != nil && time.Since(lastNode) > time.Minute {
			lastNode = time.Now()
			nctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			ns, nerr := rc.Node(nctx, a.node, nodeName(a.Host), t.Path)
			cancel()
			if nerr != nil {
				log.Warn("node record", "err", nerr)
			}
			nodes = nodeStatus(ns, a.node)
		}
		w.set(func(st *FolderStatus) {
			if err != nil {
				st.State, st.Error = StateError, err.Error()
				return
			}
			st.State, st.Error, st.LastSync = StateIdle, "", time.Now().UTC()
			st.Conflicts += s.Conflicts
			if len(nodes) > 0 {
				st.Nodes = nodes
			}
		})
		if err != nil {
			log.Warn("sync", "err", err)
		} else if s.Uploaded+s.Downloaded+s.DeletedLocal+s.DeletedRemote+s.Conflicts > 0 {
			log.Info("synced", "uploaded", s.Uploaded, "downloaded", s.Downloaded, "deleted_local", s.DeletedLocal,
				"deleted_remote", s.DeletedRemote, "conflicts", s.Conflicts)
		}
	}
	if err := client.Watch(ctx, w.stop, connect, o, report); err != nil {
		// Refused for safety (an unmounted disk, too many deletes): the
		// folder waits for a person; the others go on.
		w.set(func(st *FolderStatus) { st.State, st.Error = StateError, err.Error() })
		log.Error("folder stopped", "err", err)
		select {
		case <-w.stop:
		case <-ctx.Done():
		}
	}
}

// stream keeps a stream folder mounted with sshfs (in the foreground, as
// a child) until w.stop closes or ctx ends, then unmounts it. When sshfs
// ends on its own, the mount is cleaned up and made again, with back-off.
func (a *Agent) stream(ctx context.Context, w *worker, log *slog.Logger) {
	backoff := time.Second
	for {
		err := a.mountOnce(ctx, w, log)
		select {
		case <-w.stop:
			return
		case <-ctx.Done():
			return
		default:
		}
		w.set(func(st *FolderStatus) {
			st.State, st.Error = StateError, fmt.Sprintf("%v; mounting again in %v", err, backoff)
		})
		log.Warn("stream mount ended", "err", err, "retry", backoff)
		select {
		case <-time.After(backoff):
		case <-w.stop:
			return
		case <-ctx.Done():
			return
		}
		backoff = min(backoff*2, time.Minute)
	}
}

// mountOnce mounts the folder and waits until sshfs ends or the folder is
// stopped (then it unmounts).
func (a *Agent) mountOnce(ctx context.Context, w *worker, log *slog.Logger) error {
	f := w.f
	if err := os.MkdirAll(f.Local, 0o700); err != nil {
		return fmt.Errorf("make the mount point: %w", err)
	}
	if mounted(f.Local) {
		unmount(f.Local) // left by an sshfs that died
	}
	o := client.MountOptions{Port: f.Port, Identity: f.Identity, Options: a.controlOptions(f)}
	if f.RSH != "" {
		o.Options = append(o.Options, "ssh_command="+f.RSH)
	}
	argv, err := client.SSHFSArgs(f.Remote, f.Local, o)
	if err != nil {
		return err
	}
	prog := a.SSHFS
	if prog == "" {
		prog = "sshfs"
	}
	cmd := exec.Command(prog, append(argv, "-f")...)
	cmd.Stderr = a.Stderr
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("run sshfs: %w", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	up := false
	for {
		select {
		case err := <-exited:
			if mounted(f.Local) {
				unmount(f.Local)
			}
			if err == nil {
				err = errors.New("sshfs ended")
			}
			return fmt.Errorf("sshfs: %w", err)
		case <-w.stop:
		case <-ctx.Done():
		case <-tick.C:
			if !up && mounted(f.Local) {
				up = true
				w.set(func(st *FolderStatus) { st.State, st.Error, st.LastSync = StateMounted, "", time.Now().UTC() })
				log.Info("mounted", "remote", f.Remote, "on", f.Local)
			}
			continue
		}
		// Stopping: unmount, which ends sshfs; kill it if it does not.
		unmount(f.Local)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-exited
		}
		return nil
	}
}

// mounted reports whether a FUSE file system is mounted at dir.
func mounted(dir string) bool {
	r, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return false
	}
	defer r.Close()
	ms, err := mountinfo.ParseMountinfo(r)
	if err != nil {
		return false
	}
	for _, m := range ms {
		if m.MountPoint == dir && m.FSType == "fuse.sshfs" {
			return true
		}
	}
	return false
}

// unmount unmounts the FUSE mount at dir, lazily if it is busy.
func unmount(dir string) {
	prog := "fusermount3"
	if _, err := exec.LookPath(prog); err != nil {
		prog = "fusermount"
	}
	if exec.Command(prog, "-u", dir).Run() != nil {
		exec.Command(prog, "-u", "-z", dir).Run()
	}
}

// folderKey returns the key of the encrypted folder f: the key f.Key
// names, or the one key in the key store.
func (a *Agent) folderKey(f Folder) (*seal.Key, error) {
	ks := keystore.Store{Dir: a.KeyDir}
	if f.Key != "" {
		k, err := ks.Load(f.Key)
		if err != nil {
			return nil, fmt.Errorf("the folder's key: %w (simplecloud key import adds it)", err)
		}
		return k, nil
	}
	ids, err := ks.List()
	if err != nil {
		return nil, fmt.Errorf("the folder's key: %w", err)
	}
	switch len(ids) {
	case 0:
		return nil, errors.New("encrypt = true, but this machine holds no folder key: simplecloud key new on the first machine, key import on the others")
	case 1:
		return ks.Load(ids[0])
	}
	return nil, fmt.Errorf("encrypt = true, and this machine holds %d folder keys: say which with key = ID in client.toml", len(ids))
}
