package holders

import (
	"os"
	"testing"
	"time"
)

func TestBTFParseSpeed(t *testing.T) {
	b, _ := os.ReadFile("/sys/kernel/btf/vmlinux")
	for range 3 {
		b0 := time.Now()
		k, err := parseBTF(b)
		t1 := time.Since(b0)
		_, err2 := newKernelLayout(k)
		t.Log("parse", t1, "layout", time.Since(b0)-t1, err, err2, len(k.offs))
		b0 = time.Now()
		_, rel, err := readKernelBTF("/sys")
		t.Log("mmap+parse", time.Since(b0), err)
		rel()
	}
}
