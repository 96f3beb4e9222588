package images

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"
)

// DefaultModules are the kernel modules every guest loads: virtio console,
// disks and network, loop devices, device-mapper with dm-crypt, the AES-XTS and
// ESSIV ciphers it uses, and FUSE.
var DefaultModules = []string{
	"virtio_pci", "virtio_console", "virtio_blk", "virtio_net", "loop",
	"dm_mod", "dm_crypt", "xts", "aesni_intel", "essiv", "fuse",
}

// ModuleDeps is a parsed modules.dep: module paths relative to the modules
// directory and their direct dependencies.
type ModuleDeps struct {
	byName  map[string]string   // normalised name -> path
	deps    map[string][]string // path -> dependency paths
	builtin map[string]bool     // normalised names built into the kernel
}

// moduleName turns "kernel/drivers/md/dm-crypt.ko" or "dm-crypt" into "dm_crypt".
func moduleName(p string) string {
	base := path.Base(p)
	if i := strings.Index(base, ".ko"); i >= 0 {
		base = base[:i]
	}
	return strings.ReplaceAll(base, "-", "_")
}

// ParseModuleDeps reads modules.dep and, if given, modules.builtin.
func ParseModuleDeps(dep io.Reader, builtin io.Reader) (*ModuleDeps, error) {
	m := &ModuleDeps{byName: map[string]string{}, deps: map[string][]string{}, builtin: map[string]bool{}}
	sc := bufio.NewScanner(dep)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		mod, rest, ok := strings.Cut(line, ":")
		if !ok {
			return nil, fmt.Errorf("parse modules.dep line %d: no colon in %q", n, line)
		}
		m.byName[moduleName(mod)] = mod
		m.deps[mod] = strings.Fields(rest)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read modules.dep: %w", err)
	}
	if builtin != nil {
		sc := bufio.NewScanner(builtin)
		for sc.Scan() {
			if l := strings.TrimSpace(sc.Text()); l != "" {
				m.builtin[moduleName(l)] = true
			}
		}
		if err := sc.Err(); err != nil {
			return nil, fmt.Errorf("read modules.builtin: %w", err)
		}
	}
	return m, nil
}

// LoadModuleDeps parses modules.dep and modules.builtin in dir.
func LoadModuleDeps(dir string) (*ModuleDeps, error) {
	dep, err := os.Open(filepath.Join(dir, "modules.dep"))
	if err != nil {
		return nil, fmt.Errorf("open modules.dep (run depmod?): %w", err)
	}
	defer dep.Close()
	var builtin io.Reader
	if f, err := os.Open(filepath.Join(dir, "modules.builtin")); err == nil {
		defer f.Close()
		builtin = f
	}
	return ParseModuleDeps(dep, builtin)
}

// Order returns the module paths to load for names, each after everything it
// depends on, without repeats. Names built into the kernel are skipped; an
// unknown name is an error.
func (m *ModuleDeps) Order(names []string) ([]string, error) {
	var out []string
	done := map[string]bool{}
	visiting := map[string]bool{}
	var visit func(p string) error
	visit = func(p string) error {
		if done[p] {
			return nil
		}
		if visiting[p] {
			return fmt.Errorf("resolve module %s: dependency cycle", p)
		}
		visiting[p] = true
		for _, d := range m.deps[p] {
			if err := visit(d); err != nil {
				return err
			}
		}
		visiting[p] = false
		done[p] = true
		out = append(out, p)
		return nil
	}
	for _, n := range names {
		name := moduleName(n)
		p, ok := m.byName[name]
		if !ok {
			if m.builtin[name] {
				continue
			}
			return nil, fmt.Errorf("resolve module %s: not in modules.dep and not built in", n)
		}
		if err := visit(p); err != nil {
			return nil, err
		}
	}
	return out, nil
}
