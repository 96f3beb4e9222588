package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"strconv"

	"github.com/spf13/cobra"

	"simplecloud/sync/replica"
	"simplecloud/sync/rootfs"
	"simplecloud/sync/seal"
	"simplecloud/sync/seal/keystore"
)

// replicaFlags are the flags every replica command shares.
type replicaFlags struct {
	config string
}

func newReplicaCmd(a *app) *cobra.Command {
	f := &replicaFlags{}
	cmd := &cobra.Command{
		Use:   "replica",
		Short: "Keep an encrypted copy of users' trees in an S3 bucket, restore and verify it",
		Long: `replica keeps an encrypted, content-addressed copy of the users' trees (or
folders) named in the [replica] table of simplecloud.toml in an S3-compatible
bucket: only ciphertext and keyed-hash names leave the server. Each run uploads
the chunks the bucket lacks and a sealed snapshot; restore rebuilds trees from a
snapshot (disaster recovery), verify re-reads and checks every object, prune
thins old snapshots out and deletes the chunks no snapshot uses any more.
The layout is in sync/replica/FORMAT.md.`,
	}
	cmd.PersistentFlags().StringVar(&f.config, "config", "/etc/simplecloud/simplecloud.toml", "configuration file with a [replica] table")
	cmd.AddCommand(newReplicaRunCmd(a, f), newReplicaListCmd(a, f), newReplicaVerifyCmd(a, f), newReplicaRestoreCmd(a, f), newReplicaPruneCmd(a, f))
	return cmd
}

// replicaEnv is what every replica command needs: the configuration, the
// bucket and the key.
type replicaEnv struct {
	cfg    replica.Config
	s3     *replica.S3
	key    *seal.Key
	bucket string // endpoint and bucket, naming the local state
}

func (f *replicaFlags) open() (*replicaEnv, error) {
	cfg, err := replica.LoadConfig(f.config)
	if err != nil {
		return nil, err
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	access, secret, err := replica.ReadCredentials(cfg.CredentialsFile)
	if err != nil {
		return nil, err
	}
	dir := cfg.KeyDir
	if dir == "" {
		if dir, err = keystore.DefaultDir(os.Getenv); err != nil {
			return nil, err
		}
	}
	key, err := keystore.Store{Dir: dir}.Load(cfg.Key)
	if err != nil {
		return nil, fmt.Errorf("replica key: %w", err)
	}
	s3, err := replica.NewS3(replica.S3Options{Endpoint: cfg.Endpoint, Bucket: cfg.Bucket, Region: cfg.Region, AccessKey: access, SecretKey: secret})
	if err != nil {
		return nil, err
	}
	return &replicaEnv{cfg: cfg, s3: s3, key: key, bucket: cfg.Endpoint + "/" + cfg.Bucket}, nil
}

// treeDir is where a source's tree is on this server: [server] root/USER,
// or the user's home directory, and the folder below it.
func treeDir(serverRoot string, s replica.SourceName) (string, error) {
	base := filepath.Join(serverRoot, s.User)
	if serverRoot == "" {
		u, err := user.Lookup(s.User)
		if err != nil {
			return "", fmt.Errorf("source %s: %w", s, err)
		}
		base = u.HomeDir
	}
	return filepath.Join(base, filepath.FromSlash(s.Folder)), nil
}

func newReplicaRunCmd(a *app, f *replicaFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "run",
		Short: "Upload what changed since the last snapshot and write a new one",
		Args:  usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			env, err := f.open()
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			if err := env.s3.Ensure(ctx); err != nil {
				return err
			}
			// Trees are read as root through rootfs (openat2
			// RESOLVE_BENEATH, no symlink followed out of the tree); reading
			// each in a child dropped to its user, as serve does, is to come.
			var srcs []replica.Source
			for _, s := range env.cfg.Sources {
				sn, _ := replica.ParseSource(s)
				dir, err := treeDir(env.cfg.ServerRoot, sn)
				if err != nil {
					return err
				}
				root, err := rootfs.Open(dir)
				if err != nil {
					return fmt.Errorf("source %s: %w", sn, err)
				}
				defer root.Close()
				srcs = append(srcs, replica.Source{Name: sn.String(), Root: root})
			}
			rep := &replica.Replicator{Bucket: env.s3, Key: env.key, StateDir: env.cfg.StateDir,
				BucketName: env.bucket, Log: a.log.With("component", "replica"), Uploads: env.cfg.Uploads}
			st, err := rep.Run(ctx, srcs)
			if err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "snapshot %s: %d files (%d read, %d unchanged), %d chunks uploaded (%d bytes), %d already there\n",
				st.Snapshot, st.Files, st.Read, st.Reused, st.ChunksUploaded, st.BytesUploaded, st.ChunksSkipped)
			return nil
		},
	}
}

func newReplicaListCmd(a *app, f *replicaFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: "List the bucket's snapshots, oldest first",
		Args:  usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			env, err := f.open()
			if err != nil {
				return err
			}
			if err := replica.CheckKey(cmd.Context(), env.s3, env.key, false); err != nil {
				return err
			}
			ids, err := replica.Snapshots(cmd.Context(), env.s3)
			for _, id := range ids {
				fmt.Fprintln(a.stdout, id)
			}
			return err
		},
	}
}

// loadSnapshot checks the bucket's key and opens snapshot id ("" the
// latest).
func (env *replicaEnv) loadSnapshot(ctx context.Context, id string) (*replica.Snapshot, string, error) {
	if err := replica.CheckKey(ctx, env.s3, env.key, false); err != nil {
		return nil, "", err
	}
	snap, id, err := replica.LoadSnapshot(ctx, env.s3, env.key, id)
	if err == nil && snap == nil {
		err = errors.New("the bucket has no snapshot yet (replica run makes one)")
	}
	return snap, id, err
}

func newReplicaVerifyCmd(a *app, f *replicaFlags) *cobra.Command {
	var snapID string
	cmd := &cobra.Command{
		Use:   "verify",
		Short: "Re-read every object of the latest snapshot and check that it authenticates",
		Args:  usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			env, err := f.open()
			if err != nil {
				return err
			}
			snap, id, err := env.loadSnapshot(cmd.Context(), snapID)
			if err != nil {
				return err
			}
			probs, err := replica.Verify(cmd.Context(), env.s3, env.key, snap)
			if err != nil {
				return err
			}
			for _, p := range probs {
				fmt.Fprintln(a.stdout, p.String())
			}
			if len(probs) > 0 {
				return fmt.Errorf("verify snapshot %s: %d problems", id, len(probs))
			}
			fmt.Fprintf(a.stdout, "snapshot %s: every object authenticates\n", id)
			return nil
		},
	}
	cmd.Flags().StringVar(&snapID, "snapshot", "", "snapshot id (replica list); default the latest")
	return cmd
}

func newReplicaRestoreCmd(a *app, f *replicaFlags) *cobra.Command {
	var snapID, to string
	var force bool
	cmd := &cobra.Command{
		Use:   "restore [--snapshot ID] [--to DIR] [USER[:FOLDER]]",
		Short: "Rebuild trees from a snapshot into DIR/USER[/FOLDER]",
		Long: `restore rebuilds the trees of a snapshot (all, a user's, or one folder) with
their modes, mtimes and symbolic links, owned by the user of that name on this
server, into DIR/USER[/FOLDER]. DIR defaults to [server] root. A target that is
not empty is refused unless --force. Every chunk is authenticated before its
file is renamed into place: a changed object stops the restore.`,
		Args: usageArgs(cobra.MaximumNArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			sel := ""
			if len(args) == 1 {
				sn, err := replica.ParseSource(args[0])
				if err != nil {
					return usageError{err}
				}
				sel = sn.String()
			}
			env, err := f.open()
			if err != nil {
				return err
			}
			if to == "" {
				to = env.cfg.ServerRoot
			}
			if to == "" {
				return usageError{errors.New("restore: name the target with --to DIR ([server] root is not set)")}
			}
			snap, id, err := env.loadSnapshot(cmd.Context(), snapID)
			if err != nil {
				return err
			}
			r := &replica.Restorer{Bucket: env.s3, Key: env.key, Force: force, Owner: ownerOf}
			if err := r.Restore(cmd.Context(), snap, sel, to); err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "restored snapshot %s into %s\n", id, to)
			return nil
		},
	}
	cmd.Flags().StringVar(&snapID, "snapshot", "", "snapshot id (replica list); default the latest")
	cmd.Flags().StringVar(&to, "to", "", "directory to restore into (as DIR/USER[/FOLDER]); default [server] root")
	cmd.Flags().BoolVar(&force, "force", false, "restore into a target that is not empty")
	return cmd
}

// ownerOf looks up the user a tree belongs to ("alice" of "alice:Docs").
func ownerOf(tree string) (uid, gid int, ok bool) {
	sn, err := replica.ParseSource(tree)
	if err != nil {
		return 0, 0, false
	}
	u, err := user.Lookup(sn.User)
	if err != nil {
		return 0, 0, false
	}
	uid, err1 := strconv.Atoi(u.Uid)
	gid, err2 := strconv.Atoi(u.Gid)
	return uid, gid, err1 == nil && err2 == nil
}

func newReplicaPruneCmd(a *app, f *replicaFlags) *cobra.Command {
	var dryRun bool
	cmd := &cobra.Command{
		Use:   "prune [--dry-run]",
		Short: "Thin old snapshots out and delete the chunks no snapshot uses",
		Long: `prune keeps snapshots on the staggered schedule of the sync's versions: every
snapshot of the last hour, then the newest of each hour for a day, of each day
for 30 days and of each week after that (the latest always), deletes the
others, and then deletes every chunk no kept snapshot refers to. It holds the
bucket's lock: it waits for no run and no run starts while it deletes (each
refuses with a message naming the other). Every kept snapshot is read first;
if one cannot be opened, nothing is deleted. --dry-run says what would go.`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			env, err := f.open()
			if err != nil {
				return err
			}
			p := &replica.Pruner{Bucket: env.s3, Key: env.key, StateDir: env.cfg.StateDir,
				BucketName: env.bucket, Log: a.log.With("component", "replica")}
			st, err := p.Prune(cmd.Context(), dryRun)
			if err != nil {
				return err
			}
			verb := "deleted"
			if dryRun {
				verb = "would delete"
			}
			for _, id := range st.DroppedIDs {
				fmt.Fprintf(a.stdout, "%s snapshot %s\n", verb, id)
			}
			fmt.Fprintf(a.stdout, "%s %d of %d snapshots and %d of %d chunks (%d bytes)\n", verb,
				len(st.DroppedIDs), st.Snapshots, st.ChunksDeleted, st.Chunks, st.BytesDeleted)
			if dryRun {
				fmt.Fprintln(a.stdout, "Nothing was deleted (--dry-run).")
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, "say what would be deleted and delete nothing")
	return cmd
}
