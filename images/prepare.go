package images

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
)

// Artifacts are the pieces every guest shares: the source tree, the cached
// kernel, and static builds of the guest init and of simplecloud.
type Artifacts struct {
	Root        string
	Kernel      Kernel
	Init        string
	Simplecloud string
}

// Guest returns a guest description with these artifacts filled in.
func (a Artifacts) Guest() Guest {
	return Guest{Kernel: a.Kernel, Init: a.Init, Simplecloud: a.Simplecloud}
}

var (
	prepOnce sync.Once
	prepared Artifacts
	prepErr  error
)

// Prepare checks for qemu and busybox, fetches the kernel into the cache if
// needed and builds the binaries from the source tree that contains the
// working directory. It does the work once per process.
func Prepare(ctx context.Context) (Artifacts, error) {
	prepOnce.Do(func() { prepared, prepErr = prepare(ctx) })
	return prepared, prepErr
}

func prepare(ctx context.Context) (Artifacts, error) {
	var a Artifacts
	for _, tool := range []string{"qemu-system-x86_64", "busybox"} {
		if _, err := exec.LookPath(tool); err != nil {
			return a, fmt.Errorf("guests need %s, which is missing: %s", tool, InstallHint)
		}
	}
	root, err := SourceRoot()
	if err != nil {
		return a, err
	}
	a.Root = root
	cache, err := CacheDir()
	if err != nil {
		return a, err
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	if a.Kernel, err = EnsureKernel(ctx, cache, log); err != nil {
		return a, err
	}
	bin := filepath.Join(cache, "bin")
	if a.Init, err = BuildStatic(ctx, root, "./images/guestinit", bin); err != nil {
		return a, err
	}
	if a.Simplecloud, err = BuildStatic(ctx, root, "./cmd/simplecloud", bin); err != nil {
		return a, err
	}
	return a, nil
}
