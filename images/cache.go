package images

import (
	"fmt"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// CacheEnv names the environment variable that overrides the cache directory.
const CacheEnv = "SIMPLECLOUD_CACHE"

// CacheDir returns the directory that holds the guest kernel and other
// downloads: $SIMPLECLOUD_CACHE, or .cache/vm at the root of the source tree
// that contains the working directory (git-ignored), or the user cache dir.
func CacheDir() (string, error) {
	if d := os.Getenv(CacheEnv); d != "" {
		return filepath.Abs(d)
	}
	if root, err := SourceRoot(); err == nil {
		return filepath.Join(root, ".cache", "vm"), nil
	}
	d, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("find cache directory: %w", err)
	}
	return filepath.Join(d, "simplecloud", "vm"), nil
}

// SourceRoot returns the directory of the go.mod of module simplecloud that
// contains the working directory.
func SourceRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("find source root: %w", err)
	}
	for {
		b, err := os.ReadFile(filepath.Join(dir, "go.mod"))
		if err == nil && isOurModule(b) {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("find source root: no go.mod of module simplecloud above the working directory")
		}
		dir = parent
	}
}

func isOurModule(gomod []byte) bool {
	const want = "module simplecloud\n"
	return len(gomod) >= len(want) && string(gomod[:len(want)]) == want
}

// lockFile takes an exclusive flock on path (created if needed) and returns
// the function that releases it. Test binaries of several packages run at
// once; the lock keeps them from fetching the same kernel twice.
func lockFile(path string) (func(), error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX); err != nil {
		f.Close()
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	return func() { f.Close() }, nil
}
