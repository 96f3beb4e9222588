package provision

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"

	"golang.org/x/sys/unix"

	"simplecloud/internal/cmdrun"
	"simplecloud/luks"
)

// ErrTooBig reports a source directory that does not fit in the image.
var ErrTooBig = errors.New("the directory does not fit in the image")

// dataImageBlock is how much plaintext one worker encrypts at a time.
const dataImageBlock = 8 << 20

// ParseSize parses an image size: a number of bytes with an optional binary
// suffix K, M, G or T (KiB, MiB, ... and KB-style spellings mean the same,
// as in truncate(1) and qemu-img). The size must be a positive multiple of
// 4096.
func ParseSize(s string) (uint64, error) {
	t := strings.TrimSpace(s)
	u := strings.ToUpper(t)
	mult := uint64(1)
	for _, suf := range []struct {
		s string
		m uint64
	}{{"K", 1 << 10}, {"M", 1 << 20}, {"G", 1 << 30}, {"T", 1 << 40}} {
		for _, form := range []string{suf.s + "IB", suf.s + "B", suf.s} {
			if strings.HasSuffix(u, form) {
				u, mult = strings.TrimSuffix(u, form), suf.m
				break
			}
		}
		if mult != 1 {
			break
		}
	}
	n, err := strconv.ParseUint(u, 10, 64)
	if err != nil || n == 0 {
		return 0, fmt.Errorf("parse size %q: want a positive number with an optional K, M, G or T suffix", s)
	}
	if n > (1<<63)/mult {
		return 0, fmt.Errorf("parse size %q: too large", s)
	}
	n *= mult
	if n%4096 != 0 {
		return 0, fmt.Errorf("size %s (%d bytes) is not a multiple of 4096", s, n)
	}
	return n, nil
}

// DataImageLayout is where the parts of a data image lie, in bytes.
type DataImageLayout struct {
	Size       uint64 // the whole image
	DataOffset uint64 // start of the encrypted payload (end of the LUKS2 header area)
	Payload    uint64 // payload size: the ext4 filesystem's size
	SectorSize int    // encryption sector size
	FSBlocks   uint64 // 4096-byte ext4 blocks
}

// minPayload is the smallest payload we make a filesystem in.
const minPayload = 4 << 20

// PlanDataImage lays out an image of size bytes with the payload at
// dataOffset (0: luks.DefaultDataOffset) and the given sector size (0: 4096).
func PlanDataImage(size, dataOffset uint64, sectorSize int) (DataImageLayout, error) {
	if dataOffset == 0 {
		dataOffset = luks.DefaultDataOffset
	}
	if sectorSize == 0 {
		sectorSize = 4096
	}
	l := DataImageLayout{Size: size, DataOffset: dataOffset, SectorSize: sectorSize}
	if size < dataOffset+minPayload {
		return l, fmt.Errorf("image size %d is too small: the LUKS2 header takes %d bytes and the filesystem needs at least %d", size, dataOffset, minPayload)
	}
	l.Payload = size - dataOffset
	if l.Payload%4096 != 0 || l.Payload%uint64(sectorSize) != 0 {
		return l, fmt.Errorf("payload of %d bytes is not a multiple of 4096 and of the sector size %d", l.Payload, sectorSize)
	}
	l.FSBlocks = l.Payload / 4096
	return l, nil
}

// DataImage describes an encrypted data image to build offline.
type DataImage struct {
	Out    string // the image file; it must not exist unless Force
	Force  bool
	From   string // directory whose contents become the filesystem's root
	Label  string // ext4 label
	Layout DataImageLayout
	Format luks.FormatOptions // header options; Device and SectorSize are set from Layout
	Mke2fs string             // mke2fs program; "" finds it
	// TempDir holds the temporary ext4 file; "" uses Out's directory.
	TempDir string
	Workers int // encryption goroutines; 0 uses GOMAXPROCS
}

// Check runs the checks that need no writing: From is a directory
// and Out is absent (or Force).
func (d *DataImage) Check() error {
	st, err := os.Stat(d.From)
	if err != nil {
		return fmt.Errorf("source directory: %w", err)
	}
	if !st.IsDir() {
		return fmt.Errorf("source %s is not a directory", d.From)
	}
	if _, err := os.Lstat(d.Out); err == nil && !d.Force {
		return fmt.Errorf("image %s: %w (use --force to overwrite)", d.Out, os.ErrExist)
	}
	return nil
}

// Build writes the image: ext4 made from From into a sparse temporary file
// by mke2fs -d, then a LUKS2 header made by luks.Format and the filesystem
// encrypted into the payload on all cores. The temporary file is removed on
// every path, and Out is removed when Build fails. pass is the passphrase of
// keyslot 0.
func (d *DataImage) Build(ctx context.Context, pass []byte) (h *luks.Header, err error) {
	if err := d.Check(); err != nil {
		return nil, err
	}
	tmp, err := d.makeFS(ctx)
	if err != nil {
		return nil, err
	}
	defer os.Remove(tmp.Name())
	defer tmp.Close()

	flags := os.O_RDWR | os.O_CREATE | os.O_EXCL
	if d.Force {
		flags = os.O_RDWR | os.O_CREATE | os.O_TRUNC
	}
	out, err := os.OpenFile(d.Out, flags, 0o600)
	if err != nil {
		return nil, fmt.Errorf("create image: %w", err)
	}
	defer func() {
		if cerr := out.Close(); err == nil && cerr != nil {
			err = fmt.Errorf("close image: %w", cerr)
		}
		if err != nil {
			os.Remove(d.Out)
		}
	}()
	l := d.Layout
	if err := unix.Fallocate(int(out.Fd()), 0, 0, int64(l.Size)); err != nil && !errors.Is(err, unix.EOPNOTSUPP) {
		return nil, fmt.Errorf("allocate %d bytes for the image: %w", l.Size, err)
	}
	if err := out.Truncate(int64(l.Size)); err != nil {
		return nil, fmt.Errorf("size image: %w", err)
	}
	opts := d.Format
	opts.DataOffset, opts.SectorSize = l.DataOffset, l.SectorSize
	opts.Device = luks.Geometry{Size: l.Size}
	h, vk, err := luks.Format(out, opts, pass)
	if err != nil {
		return nil, fmt.Errorf("format image: %w", err)
	}
	defer clear(vk)
	p, err := h.Payload(out, vk, l.Size)
	if err != nil {
		return nil, fmt.Errorf("open payload: %w", err)
	}
	if uint64(p.Size()) != l.Payload {
		return nil, fmt.Errorf("payload is %d bytes, want %d", p.Size(), l.Payload)
	}
	if err := EncryptInto(ctx, p, tmp, l.Payload, d.Workers); err != nil {
		return nil, err
	}
	if err := out.Sync(); err != nil {
		return nil, fmt.Errorf("sync image: %w", err)
	}
	return h, nil
}

// makeFS makes the ext4 filesystem from From in a sparse temporary file.
func (d *DataImage) makeFS(ctx context.Context) (_ *os.File, err error) {
	dir := d.TempDir
	if dir == "" {
		dir = filepath.Dir(d.Out)
	}
	f, err := os.CreateTemp(dir, "."+filepath.Base(d.Out)+".ext4-*")
	if err != nil {
		return nil, fmt.Errorf("create temporary filesystem file: %w", err)
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if err := f.Truncate(int64(d.Layout.Payload)); err != nil {
		return nil, fmt.Errorf("size temporary filesystem file: %w", err)
	}
	mke2fs := d.Mke2fs
	if mke2fs == "" {
		if mke2fs, err = FindE2fsprogs("mke2fs"); err != nil {
			return nil, err
		}
	}
	args := []string{"-q", "-F", "-t", "ext4", "-m", "0", "-b", "4096", "-d", d.From}
	if d.Label != "" {
		args = append(args, "-L", d.Label)
	}
	args = append(args, f.Name(), strconv.FormatUint(d.Layout.FSBlocks, 10))
	if _, err := (cmdrun.Cmd{Name: mke2fs, Args: args}).Output(ctx); err != nil {
		var ce *cmdrun.Error
		if errors.As(err, &ce) && mke2fsOutOfSpace(ce.Stderr) {
			return nil, fmt.Errorf("make ext4 of %d bytes from %s: %w: %v", d.Layout.Payload, d.From, ErrTooBig, err)
		}
		return nil, fmt.Errorf("make ext4 from %s: %w", d.From, err)
	}
	return f, nil
}

// mke2fsOutOfSpace reports whether mke2fs's stderr says the files did not fit.
func mke2fsOutOfSpace(stderr string) bool {
	s := strings.ToLower(stderr)
	for _, m := range []string{"could not allocate", "no space left", "no free space", "could not allocate inode"} {
		if strings.Contains(s, m) {
			return true
		}
	}
	return false
}

// EncryptInto copies size bytes of plaintext from src into the payload p,
// in blocks of 8 MiB spread over workers goroutines (0: GOMAXPROCS).
func EncryptInto(ctx context.Context, p io.WriterAt, src io.ReaderAt, size uint64, workers int) error {
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	blocks := make(chan uint64)
	errs := make(chan error, workers)
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := make([]byte, dataImageBlock)
			for off := range blocks {
				n := min(uint64(len(buf)), size-off)
				if _, err := src.ReadAt(buf[:n], int64(off)); err != nil && !(errors.Is(err, io.EOF)) {
					errs <- fmt.Errorf("read filesystem at %d: %w", off, err)
					cancel()
					return
				}
				if _, err := p.WriteAt(buf[:n], int64(off)); err != nil {
					errs <- fmt.Errorf("encrypt at %d: %w", off, err)
					cancel()
					return
				}
			}
		}()
	}
feed:
	for off := uint64(0); off < size; off += dataImageBlock {
		select {
		case blocks <- off:
		case <-ctx.Done():
			break feed
		}
	}
	close(blocks)
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return err
	}
	return ctx.Err()
}
