// Package kscan is the holders scan's BPF engine: given the running
// kernel's layout (Layout, read from its BTF) and a set of block devices,
// it has the kernel walk every task, descriptor and mapping in iterator
// programs (BPF_TRACE_ITER) and returns a record for each thing that lies
// on one of the devices (Scan). The holders package turns the records into
// processes; this package knows nothing of /proc.
//
// A program runs for every task; on recent kernels it also walks the
// task's descriptor table and mappings with open-coded iterators, and
// older kernels get the task_file and task_vma iterators for those. The
// kernel walks its own lists, instead of a few dozen /proc reads per
// process. Every read of kernel memory is a load the verifier checks
// against the running kernel's BTF (or bpf_probe_read_kernel), at an
// offset taken from that BTF, so a changed layout gives a wrong answer to
// a field we name, never a crash. The programs are built here, with the
// devices as constants, by a small assembler (asm.go), so they need no BPF
// maps, no compiler and no object files; above each builder is the
// program it emits, as pseudo-C, and testdata holds the disassembly of
// each (go test -update rewrites it).
//
// On Linux 6.7+ a probe (ProbeMapped) first checks whether anything on the
// devices is mapped at all, from the i_mmap trees of every inode of their
// filesystems and of the devices' own page cache; when nothing is, the
// task program leaves the walk of every mapping out.
//
// The layout is kept for the rest of the boot in a cache file
// (CachedLayout): reading BTF costs more than a scan.
package kscan
