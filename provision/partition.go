package provision

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/diskfs/go-diskfs/partition/gpt"
	"golang.org/x/sys/unix"

	"simplecloud/disk"
)

// partitionAlign is where the partition starts and how its end is rounded:
// 1 MiB, as parted and sgdisk do.
const partitionAlign = 1 << 20

// gptEntriesBytes is the size of a GPT partition entry array (128 x 128).
const gptEntriesBytes = 128 * 128

// LUKSPartition returns the GPT table with one partition of type Linux LUKS
// spanning a disk of size bytes, aligned to 1 MiB at both ends.
func LUKSPartition(size int64, logical, physical int) (*gpt.Table, error) {
	if logical == 0 {
		logical = 512
	}
	if physical == 0 {
		physical = logical
	}
	sectors := uint64(size) / uint64(logical)
	align := uint64(partitionAlign / logical)
	// The last usable sector is before the backup entries and header.
	lastUsable := sectors - 2 - uint64(gptEntriesBytes/logical)
	end := (lastUsable+1)/align*align - 1
	if sectors < 4*align || end <= align {
		return nil, fmt.Errorf("partition a disk of %d bytes: too small", size)
	}
	return &gpt.Table{
		LogicalSectorSize:  logical,
		PhysicalSectorSize: physical,
		ProtectiveMBR:      true,
		Partitions: []*gpt.Partition{{
			Index: 1, Start: align, End: end,
			Size: (end - align + 1) * uint64(logical),
			Type: gpt.LinuxLUKS, Name: "simplecloud",
		}},
	}, nil
}

// partition writes the GPT to the disk, has the kernel read it again and
// waits for the partition's device node. It returns the node's path and
// the function that releases the disk's lock: a BSD lock (LOCK_EX) on the
// whole disk, as systemd's "Locking Block Device Access" asks, taken
// before the GPT is written and held until the install ends. Without it
// udev, seeing the disk closed after writing, read the partition table
// again itself and removed /dev/vda1 for a moment while format opened it
// (the appliance's first boot, under load).
func (s *System) partition(ctx context.Context, d disk.Disk) (string, func(), error) {
	path := filepath.Join(s.Dev, filepath.Base(d.Path))
	lock, err := os.Open(path)
	if err != nil {
		return "", nil, fmt.Errorf("partition %s: %w", path, err)
	}
	if err := unix.Flock(int(lock.Fd()), unix.LOCK_EX); err != nil {
		lock.Close()
		return "", nil, fmt.Errorf("partition %s: lock: %w", path, err)
	}
	unlock := func() { lock.Close() }
	node, err := s.writePartition(ctx, d, path)
	if err != nil {
		unlock()
		return "", nil, err
	}
	return node, unlock, nil
}

func (s *System) writePartition(ctx context.Context, d disk.Disk, path string) (string, error) {
	f, err := os.OpenFile(path, os.O_RDWR|unix.O_EXCL, 0)
	if err != nil {
		return "", fmt.Errorf("partition %s: %w", path, err)
	}
	size, err := f.Seek(0, 2)
	if err == nil {
		var t *gpt.Table
		if t, err = LUKSPartition(size, int(d.LogicalBlockBytes), int(d.PhysicalBlockBytes)); err == nil {
			err = t.Write(f, size)
		}
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return "", fmt.Errorf("partition %s: %w", path, err)
	}
	if err := s.rereadPartitions(ctx, path); err != nil {
		return "", err
	}
	return s.waitPartition(ctx, d, 1)
}

// rereadPartitions asks the kernel to read the partition table again
// (BLKRRPART), retrying while the disk is briefly busy.
func (s *System) rereadPartitions(ctx context.Context, path string) error {
	deadline := time.Now().Add(10 * time.Second)
	for {
		f, err := os.Open(path)
		if err != nil {
			return fmt.Errorf("reread partitions of %s: %w", path, err)
		}
		err = unix.IoctlSetInt(int(f.Fd()), unix.BLKRRPART, 0)
		f.Close()
		if err == nil {
			return nil
		}
		if !errors.Is(err, unix.EBUSY) || time.Now().After(deadline) {
			return fmt.Errorf("reread partitions of %s: %w", path, err)
		}
		if err := pause(ctx, 100*time.Millisecond); err != nil {
			return err
		}
	}
}

// waitPartition polls sysfs for partition n of d and returns its device
// node once it exists.
func (s *System) waitPartition(ctx context.Context, d disk.Disk, n int) (string, error) {
	want := filepath.Base(PartitionPath(d.Path, n))
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, errSys := os.Stat(filepath.Join(s.Sys, "class", "block", want, "partition"))
		node := filepath.Join(s.Dev, want)
		_, errDev := os.Stat(node)
		if errSys == nil && errDev == nil {
			return node, nil
		}
		if time.Now().After(deadline) {
			return "", fmt.Errorf("wait for partition %s: the kernel made no device for it within 10s (a kernel without GPT partition support? --whole-disk needs none)", node)
		}
		if err := pause(ctx, 50*time.Millisecond); err != nil {
			return "", err
		}
	}
}

// pause waits d or until ctx ends.
func pause(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
