package images

import (
	"debug/elf"
	"fmt"
	"os"
	"path/filepath"
)

// libDirs are searched, in order, for the shared libraries a program needs.
var libDirs = []string{
	"/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu",
	"/lib64", "/usr/lib64", "/lib", "/usr/lib",
}

// alwaysWithLibc are libraries glibc loads at run time without listing them
// (pthread_exit and cancellation dlopen libgcc_s).
var alwaysWithLibc = []string{"libgcc_s.so.1"}

// Needs lists what the dynamic program at path needs to run: its ELF
// interpreter (empty for a static program) and the paths of all its shared
// libraries, found recursively through DT_NEEDED.
func Needs(path string) (interp string, libs []string, err error) {
	f, err := elf.Open(path)
	if err != nil {
		return "", nil, fmt.Errorf("read ELF %s: %w", path, err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			b := make([]byte, p.Filesz)
			if _, err := p.ReadAt(b, 0); err != nil {
				return "", nil, fmt.Errorf("read interpreter of %s: %w", path, err)
			}
			interp = string(b[:len(b)-1]) // NUL-terminated
		}
	}
	seen := map[string]bool{}
	var walk func(file *elf.File, from string) error
	walk = func(file *elf.File, from string) error {
		needed, err := file.ImportedLibraries()
		if err != nil {
			return fmt.Errorf("read DT_NEEDED of %s: %w", from, err)
		}
		for _, n := range needed {
			if n == "libc.so.6" {
				needed = append(needed, alwaysWithLibc...)
				break
			}
		}
		for _, name := range needed {
			if seen[name] {
				continue
			}
			seen[name] = true
			p, err := findLib(name)
			if err != nil {
				return fmt.Errorf("resolve %s needed by %s: %w", name, from, err)
			}
			libs = append(libs, p)
			lf, err := elf.Open(p)
			if err != nil {
				return fmt.Errorf("read ELF %s: %w", p, err)
			}
			err = walk(lf, p)
			lf.Close()
			if err != nil {
				return err
			}
		}
		return nil
	}
	if err := walk(f, path); err != nil {
		return "", nil, err
	}
	return interp, libs, nil
}

func findLib(name string) (string, error) {
	for _, d := range libDirs {
		p := filepath.Join(d, name)
		if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() {
			return p, nil
		}
	}
	return "", fmt.Errorf("not found in %v", libDirs)
}
