package gcfloor

import (
	"runtime/debug"
	"testing"
	"time"
)

func gogc() int { return int(int64(readMetric("/gc/gogc:percent"))) }

func waitHeld(t *testing.T, m *Meter, want bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for m.Held() != want {
		if time.Now().After(deadline) {
			t.Fatalf("floor held %v, want %v", !want, want)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestMeter(t *testing.T) {
	old := debug.SetGCPercent(100)
	defer debug.SetGCPercent(old)
	const period = 200 * time.Millisecond
	m := NewMeter(64<<20, 1000, period)
	defer m.Close()

	// A slow stream: never 1,000 bytes in one period.
	for range 15 {
		m.Add(100)
		time.Sleep(period / 4)
	}
	if m.Held() || gogc() != 100 {
		t.Fatalf("a slow stream holds the floor: held %v, GOGC %d", m.Held(), gogc())
	}

	// A fast one: held at once, and as long as it goes on.
	m.Add(600)
	m.Add(600)
	if !m.Held() || gogc() <= 100 {
		t.Fatalf("a fast stream does not hold the floor: held %v, GOGC %d", m.Held(), gogc())
	}
	for range 10 {
		time.Sleep(period / 4)
		m.Add(1200)
		if !m.Held() {
			t.Fatal("the floor was released while the stream went on")
		}
	}

	// The stream stops: released, GOGC back.
	waitHeld(t, m, false)
	if got := gogc(); got != 100 {
		t.Errorf("GOGC after the stream: %d, want 100", got)
	}

	// Close releases a held floor, and none is held after it.
	m.Add(2000)
	if !m.Held() {
		t.Fatal("a second stream does not hold the floor")
	}
	m.Close()
	if m.Held() || gogc() != 100 {
		t.Errorf("after Close: held %v, GOGC %d", m.Held(), gogc())
	}
	m.Add(2000)
	if m.Held() {
		t.Error("a closed meter holds the floor")
	}
}
