//go:build scratch

package client

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"syscall"
	"testing"
	"time"
)

func mkfiles(t *testing.T, dir string, n, dirs int) {
	for d := 0; d < dirs; d++ {
		os.MkdirAll(filepath.Join(dir, fmt.Sprintf("d%04d", d)), 0o755)
	}
	for i := 0; i < n; i++ {
		os.WriteFile(filepath.Join(dir, fmt.Sprintf("d%04d", i%dirs), fmt.Sprintf("file-%06d.txt", i)), []byte(fmt.Sprintf("content %d %s", i, "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"[:i%50])), 0o644)
	}
}

func TestScratchProfile(t *testing.T) {
	p := newPair(t)
	n := 200000
	if os.Getenv("N") != "" {
		fmt.Sscan(os.Getenv("N"), &n)
	}
	mkfiles(t, p.local, n, n/100)
	var ms runtime.MemStats
	start := time.Now()
	f, _ := os.Create("/work/scratch/cpu1.prof")
	pprof.StartCPUProfile(f)
	s := p.mustRun()
	pprof.StopCPUProfile()
	runtime.ReadMemStats(&ms)
	t.Logf("initial %v %+v heapsys %d MB totalalloc %d MB", time.Since(start), s, ms.HeapSys>>20, ms.TotalAlloc>>20)
	h, _ := os.Create("/work/scratch/heap1.prof")
	pprof.Lookup("allocs").WriteTo(h, 0)
	h.Close()
	for i := 0; i < 2; i++ {
		start = time.Now()
		f, _ := os.Create(fmt.Sprintf("/work/scratch/cpu-re%d.prof", i))
		pprof.StartCPUProfile(f)
		s = p.mustRun()
		pprof.StopCPUProfile()
		t.Logf("resync %v %+v", time.Since(start), s)
	}
}

func TestScratchInitial(t *testing.T) {
	p := newPair(t)
	for d := 0; d < 200; d++ {
		os.MkdirAll(filepath.Join(p.local, fmt.Sprintf("d%03d", d)), 0o755)
	}
	buf := make([]byte, 64<<10)
	for i := 0; i < 10000; i++ {
		n := 1024 + (i*7919)%(63<<10)
		for j := 0; j < n; j += 8 {
			buf[j] = byte(i + j)
		}
		os.WriteFile(filepath.Join(p.local, fmt.Sprintf("d%03d", i%200), fmt.Sprintf("f%05d", i)), buf[:n], 0o644)
	}
	big, _ := os.Create(filepath.Join(p.local, "big"))
	chunk := make([]byte, 1<<20)
	nbig := 1024
	if os.Getenv("NOBIG") != "" {
		nbig = 0
	}
	for i := 0; i < nbig; i++ {
		for j := range chunk {
			chunk[j] = byte(i*31 + j*7 + j>>9)
		}
		big.Write(chunk)
	}
	big.Close()
	start := time.Now()
	f, _ := os.Create("/work/scratch/cpu-init.prof")
	pprof.StartCPUProfile(f)
	var ru0, ru1 syscall.Rusage
	syscall.Getrusage(0, &ru0)
	s := p.mustRun()
	pprof.StopCPUProfile()
	syscall.Getrusage(0, &ru1)
	t.Logf("initial %v %+v user %v sys %v", time.Since(start), s, time.Duration(ru1.Utime.Nano()-ru0.Utime.Nano()), time.Duration(ru1.Stime.Nano()-ru0.Stime.Nano()))
}
