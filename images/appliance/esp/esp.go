// Package esp reads and writes files on the EFI system partition of a GPT
// disk image (FAT32, through go-diskfs) without mounting it: the appliance
// build fills it, and the VM test and the demo put an answers file there
// for an unattended first boot.
package esp

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"sort"

	"github.com/diskfs/go-diskfs/backend"
	"github.com/diskfs/go-diskfs/backend/file"
	"github.com/diskfs/go-diskfs/filesystem"
	"github.com/diskfs/go-diskfs/filesystem/fat32"
	"github.com/diskfs/go-diskfs/partition/gpt"
)

// SectorSize is the images' logical sector size.
const SectorSize = 512

// Add writes files (by path on the ESP) into the EFI system partition of
// the image at img: for example an answers file for an unattended first
// boot (/simplecloud/answers.toml, which the appliance sees as
// /boot/efi/simplecloud/answers.toml). The ESP is found in the GPT by its
// type.
func Add(img string, files map[string][]byte) error {
	st, err := file.OpenFromPath(img, false)
	if err != nil {
		return fmt.Errorf("open %s: %w", img, err)
	}
	defer st.Close()
	fsys, err := open(st, img)
	if err != nil {
		return err
	}
	paths := make([]string, 0, len(files))
	for p := range files {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	for _, p := range paths {
		if err := Write(fsys, p, files[p]); err != nil {
			return err
		}
	}
	return nil
}

// Read returns the file at p on the image's ESP.
func Read(img, p string) ([]byte, error) {
	st, err := file.OpenFromPath(img, true)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", img, err)
	}
	defer st.Close()
	fsys, err := open(st, img)
	if err != nil {
		return nil, err
	}
	f, err := fsys.OpenFile(p, os.O_RDONLY)
	if err != nil {
		return nil, fmt.Errorf("read %s on the ESP: %w", p, err)
	}
	b, err := io.ReadAll(f)
	if err != nil {
		return nil, fmt.Errorf("read %s on the ESP: %w", p, err)
	}
	return b, nil
}

// Write writes data to p on fsys, making p's directory when missing.
func Write(fsys filesystem.FileSystem, p string, data []byte) error {
	if err := fsys.Mkdir(path.Dir(p)); err != nil {
		return fmt.Errorf("fill the ESP: mkdir %s: %w", path.Dir(p), err)
	}
	f, err := fsys.OpenFile(p, os.O_CREATE|os.O_RDWR)
	if err != nil {
		return fmt.Errorf("fill the ESP: %s: %w", p, err)
	}
	if _, err := f.Write(data); err != nil {
		return fmt.Errorf("fill the ESP: %s: %w", p, err)
	}
	if c, ok := f.(io.Closer); ok {
		return c.Close()
	}
	return nil
}

// open finds the ESP in st's GPT and opens its filesystem.
func open(st backend.Storage, img string) (filesystem.FileSystem, error) {
	table, err := gpt.Read(st, SectorSize, SectorSize)
	if err != nil {
		return nil, fmt.Errorf("read the partition table of %s: %w", img, err)
	}
	for _, p := range table.Partitions {
		if p.Type == gpt.EFISystemPartition {
			fsys, err := fat32.Read(st, p.GetSize(), p.GetStart(), SectorSize)
			if err != nil {
				return nil, fmt.Errorf("read the ESP of %s: %w", img, err)
			}
			return fsys, nil
		}
	}
	return nil, errors.New("the image has no EFI system partition")
}
