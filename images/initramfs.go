package images

import (
	"fmt"
	"os"
	"path"
	"sort"
	"strings"

	"github.com/u-root/u-root/pkg/cpio"
)

// Initramfs collects the files of an initramfs and writes it as a newc cpio
// archive, which the kernel unpacks without compression. Later entries
// replace earlier ones at the same path. It is not safe for concurrent use.
type Initramfs struct {
	entries map[string]cpio.Record
}

// NewInitramfs returns an empty archive with the usual top-level directories.
func NewInitramfs() *Initramfs {
	r := &Initramfs{entries: map[string]cpio.Record{}}
	for _, d := range []string{"bin", "sbin", "etc", "dev", "proc", "sys", "run", "tmp", "mnt", "root", "lib", "usr/bin", "usr/sbin"} {
		r.Dir(d, 0o755)
	}
	r.entries["tmp"] = cpio.Directory("tmp", 0o1777)
	return r
}

func clean(p string) string {
	return strings.TrimPrefix(path.Clean("/"+p), "/")
}

// Dir adds a directory.
func (r *Initramfs) Dir(dst string, perm uint64) {
	dst = clean(dst)
	r.entries[dst] = cpio.Directory(dst, perm)
}

// Bytes adds a regular file with the given content.
func (r *Initramfs) Bytes(dst string, data []byte, perm uint64) {
	dst = clean(dst)
	r.entries[dst] = cpio.StaticRecord(data, cpio.Info{
		Name: dst, Mode: cpio.S_IFREG | perm, NLink: 1, FileSize: uint64(len(data)),
	})
}

// Symlink adds a symbolic link.
func (r *Initramfs) Symlink(dst, target string) {
	dst = clean(dst)
	r.entries[dst] = cpio.Symlink(dst, target)
}

// Has reports whether the archive holds something at dst.
func (r *Initramfs) Has(dst string) bool {
	_, ok := r.entries[clean(dst)]
	return ok
}

// Copy adds the host file src (following symlinks) at dst with src's
// permission bits.
func (r *Initramfs) Copy(dst, src string) error {
	st, err := os.Stat(src)
	if err != nil {
		return fmt.Errorf("add %s to initramfs: %w", src, err)
	}
	if !st.Mode().IsRegular() {
		return fmt.Errorf("add %s to initramfs: not a regular file", src)
	}
	b, err := os.ReadFile(src)
	if err != nil {
		return fmt.Errorf("add %s to initramfs: %w", src, err)
	}
	r.Bytes(dst, b, uint64(st.Mode().Perm()))
	return nil
}

// Program adds the host program src at dst together with its ELF
// interpreter and shared libraries, each at its host path.
func (r *Initramfs) Program(dst, src string) error {
	interp, libs, err := Needs(src)
	if err != nil {
		return err
	}
	if err := r.Copy(dst, src); err != nil {
		return err
	}
	if interp != "" && !r.Has(interp) {
		if err := r.Copy(interp, interp); err != nil {
			return err
		}
	}
	for _, l := range libs {
		if r.Has(l) {
			continue
		}
		if err := r.Copy(l, l); err != nil {
			return err
		}
	}
	return nil
}

// WriteFile writes the archive to path. Parent directories of every entry
// are written first, as the kernel does not create them itself.
func (r *Initramfs) WriteFile(p string) error {
	f, err := os.Create(p)
	if err != nil {
		return fmt.Errorf("write initramfs: %w", err)
	}
	names := make([]string, 0, len(r.entries))
	for n := range r.entries {
		names = append(names, n)
	}
	sort.Strings(names)
	recs := make([]cpio.Record, 0, len(names))
	for i, n := range names {
		rec := r.entries[n]
		rec.Ino = uint64(i + 1)
		recs = append(recs, cpio.MakeReproducible(rec))
	}
	w := cpio.NewDedupWriter(cpio.Newc.Writer(f))
	if err := cpio.WriteRecordsAndDirs(w, recs); err != nil {
		f.Close()
		return fmt.Errorf("write initramfs %s: %w", p, err)
	}
	if err := cpio.WriteTrailer(w); err != nil {
		f.Close()
		return fmt.Errorf("write initramfs %s: %w", p, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write initramfs %s: %w", p, err)
	}
	return nil
}
