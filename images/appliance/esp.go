package main

import (
	"errors"
	"fmt"
	"os"
	"sort"

	"github.com/diskfs/go-diskfs/backend/file"
	"github.com/diskfs/go-diskfs/filesystem/fat32"
	"github.com/diskfs/go-diskfs/partition/gpt"
)

// AddToESP writes files (by path on the ESP) into the EFI system partition
// of the image at img: for example an answers file for an unattended first
// boot (/simplecloud/answers.toml, which the appliance sees as
// /boot/efi/simplecloud/answers.toml). The ESP is found in the GPT by its
// type.
func AddToESP(img string, files map[string][]byte) error {
	st, err := file.OpenFromPath(img, false)
	if err != nil {
		return fmt.Errorf("open %s: %w", img, err)
	}
	defer st.Close()
	table, err := gpt.Read(st, SectorSize, SectorSize)
	if err != nil {
		return fmt.Errorf("read the partition table of %s: %w", img, err)
	}
	var esp *gpt.Partition
	for _, p := range table.Partitions {
		if p.Type == gpt.EFISystemPartition {
			esp = p
		}
	}
	if esp == nil {
		return errors.New("add to the ESP: the image has no EFI system partition")
	}
	fsys, err := fat32.Read(st, esp.GetSize(), esp.GetStart(), SectorSize)
	if err != nil {
		return fmt.Errorf("read the ESP of %s: %w", img, err)
	}
	paths := make([]string, 0, len(files))
	for p := range files {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	for _, p := range paths {
		if err := writeFAT(fsys, p, files[p]); err != nil {
			return err
		}
	}
	return nil
}

// readESP returns the file at p on the image's ESP (for tests).
func readESP(img, p string) ([]byte, error) {
	st, err := file.OpenFromPath(img, true)
	if err != nil {
		return nil, err
	}
	defer st.Close()
	table, err := gpt.Read(st, SectorSize, SectorSize)
	if err != nil {
		return nil, err
	}
	for _, part := range table.Partitions {
		if part.Type != gpt.EFISystemPartition {
			continue
		}
		fsys, err := fat32.Read(st, part.GetSize(), part.GetStart(), SectorSize)
		if err != nil {
			return nil, err
		}
		f, err := fsys.OpenFile(p, os.O_RDONLY)
		if err != nil {
			return nil, err
		}
		buf := make([]byte, 1<<20)
		n, err := f.Read(buf)
		if err != nil && n == 0 {
			return nil, err
		}
		return buf[:n], nil
	}
	return nil, errors.New("no ESP")
}
