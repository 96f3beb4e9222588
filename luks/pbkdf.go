package luks

import (
	"crypto/rand"
	"fmt"
	"time"
)

// Defaults of cryptsetup 2.6 for new LUKS2 keyslots.
const (
	DefaultPBKDF        = "argon2id"
	DefaultPBKDFHash    = "sha256"
	DefaultIterTime     = 2 * time.Second
	DefaultMaxMemoryKiB = 1 << 20 // 1 GiB
	DefaultMaxThreads   = 4
	minArgonTime        = 4
	minArgonMemoryKiB   = 32 << 10
	minPBKDF2Iterations = 1000
	digestIterTime      = 125 * time.Millisecond
	benchMinTime        = 250 * time.Millisecond
	benchFastTime       = 10 * time.Millisecond
)

// PBKDF selects the key derivation function of a new keyslot and how its
// cost is chosen. The zero value means cryptsetup's defaults, with the
// memory and thread limits of the caller (see Limits).
type PBKDF struct {
	Type            string        // "argon2id" (default), "argon2i" or "pbkdf2"
	Hash            string        // pbkdf2 hash, default sha256
	IterTime        time.Duration // benchmark target, default 2s
	MaxMemoryKiB    int           // argon2 memory cost ceiling, default 1 GiB
	Parallel        int           // argon2 threads, default min(4, CPUs)
	ForceIterations int           // skip the benchmark: pbkdf2 iterations or argon2 time cost

	// Progress, when set, is told about each benchmark run.
	Progress func(b Benchmark)
}

// Benchmark is one measured run of the key derivation function.
type Benchmark struct {
	Type       string
	Iterations int // pbkdf2 iterations or argon2 time cost
	MemoryKiB  int
	Threads    int
	Elapsed    time.Duration
}

func (p PBKDF) withDefaults() PBKDF {
	if p.Type == "" {
		p.Type = DefaultPBKDF
	}
	if p.Hash == "" {
		p.Hash = DefaultPBKDFHash
	}
	if p.IterTime <= 0 {
		p.IterTime = DefaultIterTime
	}
	if p.MaxMemoryKiB <= 0 {
		p.MaxMemoryKiB = DefaultMaxMemoryKiB
	}
	if p.Parallel <= 0 {
		p.Parallel = DefaultMaxThreads
	}
	return p
}

// Resolve returns the KDF parameters (with a fresh salt) for a key of
// keyLen bytes, running the benchmark unless ForceIterations is set.
func (p PBKDF) Resolve(keyLen int) (KDF, error) {
	p = p.withDefaults()
	k := KDF{Type: p.Type, Salt: make([]byte, 32)}
	if _, err := rand.Read(k.Salt); err != nil {
		return k, err
	}
	switch p.Type {
	case "pbkdf2":
		if _, err := hashFunc(p.Hash); err != nil {
			return k, err
		}
		k.Hash = p.Hash
		k.Iterations = p.ForceIterations
		if k.Iterations == 0 {
			k.Iterations = benchPBKDF2(p.Hash, keyLen, p.IterTime, p.Progress)
		}
		if k.Iterations < minPBKDF2Iterations {
			return k, fmt.Errorf("pbkdf2 needs at least %d iterations, not %d", minPBKDF2Iterations, k.Iterations)
		}
	case "argon2i", "argon2id":
		if p.Parallel > maxArgonThreads {
			return k, fmt.Errorf("argon2 threads %d over the limit of %d", p.Parallel, maxArgonThreads)
		}
		if p.MaxMemoryKiB > maxArgonMemory {
			return k, fmt.Errorf("argon2 memory %d KiB over the limit of %d KiB", p.MaxMemoryKiB, maxArgonMemory)
		}
		k.CPUs = p.Parallel
		minMem := max(minArgonMemoryKiB, 8*p.Parallel)
		if p.MaxMemoryKiB < 8*p.Parallel {
			return k, fmt.Errorf("argon2 memory %d KiB is below the minimum of %d KiB for %d threads", p.MaxMemoryKiB, 8*p.Parallel, p.Parallel)
		}
		minMem = min(minMem, p.MaxMemoryKiB)
		if p.ForceIterations > 0 {
			k.Time, k.Memory = p.ForceIterations, p.MaxMemoryKiB
		} else {
			k.Time, k.Memory = benchArgon2(p.Type, keyLen, p.Parallel, minMem, p.MaxMemoryKiB, p.IterTime, p.Progress)
		}
	default:
		return k, fmt.Errorf("%w key derivation function %q (want argon2id, argon2i or pbkdf2)", ErrUnsupported, p.Type)
	}
	return k, nil
}

var benchPass = []byte("foobarfo")

func timeKDF(k *KDF, keyLen int) time.Duration {
	start := time.Now()
	key, _ := deriveKey(k, benchPass, keyLen)
	clear(key)
	return time.Since(start)
}

// benchPBKDF2 finds the iterations that take target on this machine.
func benchPBKDF2(hashName string, keyLen int, target time.Duration, progress func(Benchmark)) int {
	k := &KDF{Type: "pbkdf2", Hash: hashName, Salt: make([]byte, 32), Iterations: 1000}
	minTime := min(benchMinTime, target/2)
	for {
		d := timeKDF(k, keyLen)
		if progress != nil {
			progress(Benchmark{Type: "pbkdf2", Iterations: k.Iterations, Elapsed: d})
		}
		if d >= minTime || k.Iterations >= 1<<30 {
			n := int(float64(k.Iterations) * float64(target) / float64(max(d, time.Microsecond)))
			return min(max(n, minPBKDF2Iterations), maxIterations)
		}
		if d < benchFastTime {
			k.Iterations *= 16
		} else {
			k.Iterations = int(float64(k.Iterations) * float64(minTime) / float64(d) * 1.1)
		}
	}
}

// benchArgon2 follows cryptsetup's search: find parameters that take at
// least 250 ms, then scale memory first (up to maxMem) and time cost
// second until a run lands within -5%/+10% of the target.
func benchArgon2(typ string, keyLen, threads, minMem, maxMem int, target time.Duration, progress func(Benchmark)) (int, int) {
	t, m := minArgonTime, minMem
	run := func() time.Duration {
		k := &KDF{Type: typ, Time: t, Memory: m, CPUs: threads, Salt: make([]byte, 32)}
		d := timeKDF(k, keyLen)
		if progress != nil {
			progress(Benchmark{Type: typ, Iterations: t, MemoryKiB: m, Threads: threads, Elapsed: d})
		}
		return d
	}
	minTime := min(benchMinTime, target/2)
	var d time.Duration
	for {
		d = run()
		if d >= minTime {
			break
		}
		if m == maxMem {
			if d < benchFastTime {
				t *= 16
			} else {
				nt := int(int64(t) * int64(minTime) / int64(d))
				if nt == t {
					break
				}
				t = nt
			}
		} else {
			if d < benchFastTime {
				m *= 16
			} else {
				nm := int(int64(m) * int64(minTime) / int64(d))
				if nm == m {
					break
				}
				m = nm
			}
			m = min(m, maxMem)
		}
	}
	lo, hi := target*95/100, target*110/100
	for range 10 {
		ot, om := t, m
		t, m = nextArgon2(t, m, minMem, maxMem, d, target)
		if t == ot && m == om {
			break
		}
		d = run()
		if d >= lo && d <= hi {
			break
		}
	}
	return t, m
}

func nextArgon2(t, m, minMem, maxMem int, d, target time.Duration) (int, int) {
	ms, tgt := max(int64(d/time.Millisecond), 1), int64(target/time.Millisecond)
	if ms > tgt {
		nt := int(int64(t) * tgt / ms)
		if nt < minArgonTime {
			m = int(int64(t) * int64(m) * tgt / (minArgonTime * ms))
			t = minArgonTime
			m = max(m, minMem)
		} else {
			t = nt
		}
		return t, m
	}
	nm := int(int64(m) * tgt / ms)
	switch {
	case nm > maxMem:
		t = int(int64(t) * int64(m) * tgt / (int64(maxMem) * ms))
		m = maxMem
		t = max(t, minArgonTime)
	case nm < minMem:
		m = minMem
	default:
		m = nm
	}
	return t, m
}
