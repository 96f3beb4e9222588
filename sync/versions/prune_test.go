package versions

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"
)

func TestPlanPrune(t *testing.T) {
	now := time.Date(2026, 12, 5, 12, 0, 0, 0, time.UTC)
	ago := func(d time.Duration) time.Time { return now.Add(-d) }
	h, d := time.Hour, 24*time.Hour
	tests := []struct {
		name  string
		items []item
		pol   Policy
		want  []int
	}{
		{"all younger than an hour kept", []item{{"a", ago(1 * time.Minute), 1}, {"a", ago(2 * time.Minute), 1}, {"a", ago(59 * time.Minute), 1}},
			Policy{Staggered: true}, nil},
		{"one per hour within a day: the newest of the hour", []item{{"a", ago(2*h + 10*time.Minute), 1}, {"a", ago(2*h + 50*time.Minute), 1}, {"a", ago(5 * h), 1}},
			Policy{Staggered: true}, []int{1}},
		{"paths apart", []item{{"a", ago(2*h + 10*time.Minute), 1}, {"b", ago(2*h + 11*time.Minute), 1}},
			Policy{Staggered: true}, nil},
		{"past an hour, hourly", []item{{"a", ago(h + 15*time.Minute), 1}, {"a", ago(h + 45*time.Minute), 1}, {"a", ago(h - time.Second), 1}},
			Policy{Staggered: true}, []int{1}},
		{"one per day up to 30 days", []item{{"a", ago(3*d + h), 1}, {"a", ago(3*d + 2*h), 1}, {"a", ago(4*d + h), 1}},
			Policy{Staggered: true}, []int{1}},
		{"one per week after 30 days", []item{{"a", ago(40 * d), 1}, {"a", ago(40*d + h), 1}, {"a", ago(41 * d), 1}, {"a", ago(60 * d), 1}},
			Policy{Staggered: true}, []int{1, 2}},
		{"not staggered keeps all", []item{{"a", ago(40 * d), 1}, {"a", ago(40*d + h), 1}}, Policy{}, nil},
		{"cap removes oldest first across paths", []item{{"a", ago(time.Minute), 5}, {"b", ago(2 * time.Minute), 5}, {"a", ago(3 * time.Minute), 5}},
			Policy{CapBytes: 10}, []int{2}},
		{"cap after the schedule", []item{{"a", ago(2*h + 10*time.Minute), 5}, {"a", ago(2*h + 20*time.Minute), 5}, {"b", ago(time.Minute), 6}},
			Policy{Staggered: true, CapBytes: 11}, []int{1}},
		{"cap zero is no cap", []item{{"a", ago(time.Minute), 1 << 40}}, Policy{}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := planPrune(tt.items, now, tt.pol)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("planPrune = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestPrune(t *testing.T) {
	s, dir := newStore(t, Policy{Staggered: true})
	now := time.Date(2026, 12, 5, 12, 0, 0, 0, time.UTC)
	for i, age := range []time.Duration{time.Minute, 3*time.Hour + 10*time.Minute, 3*time.Hour + 40*time.Minute, 50 * 24 * time.Hour} {
		write(t, filepath.Join(dir, "d", "sub", "f"), fmt.Sprint(i+10), 0o644, now)
		if _, err := s.Keep("d/sub/f", now.Add(-age)); err != nil {
			t.Fatal(err)
		}
	}
	write(t, filepath.Join(dir, Dir, "not-a-version"), "mine", 0o644, now)
	ps, err := s.Prune(now)
	if err != nil {
		t.Fatal(err)
	}
	if ps.Removed != 1 || ps.Kept != 3 {
		t.Errorf("Prune = %+v, want 1 removed, 3 kept", ps)
	}
	vs, _ := s.List("d/sub/f")
	if len(vs) != 3 {
		t.Errorf("%d versions left, want 3", len(vs))
	}
	if _, err := os.Stat(filepath.Join(dir, Dir, "not-a-version")); err != nil {
		t.Errorf("Prune removed a file that is not a version: %v", err)
	}
	s.pol = Policy{CapBytes: 1}
	if _, err := s.Prune(now); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, Dir, "d")); !os.IsNotExist(err) {
		t.Errorf("emptied store directories remain: %v", err)
	}
}

// TestStaggered: the schedule on its own, as the replica's snapshots use
// it: the newest is kept however old, and a week keeps one.
func TestStaggered(t *testing.T) {
	now := time.Date(2026, 12, 5, 12, 0, 0, 0, time.UTC)
	week := 7 * 24 * time.Hour
	// 2026-07-16 is a Thursday: a week bucket of Unix time starts there.
	start := time.Date(2026, 7, 16, 0, 0, 0, 0, time.UTC)
	times := []time.Time{start.Add(2 * 24 * time.Hour), start.Add(24 * time.Hour), start.Add(week + time.Hour), now.Add(-time.Minute)}
	if got, want := Staggered(times, now), []bool{false, true, false, false}; !reflect.DeepEqual(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
	if got := Staggered([]time.Time{now.Add(-400 * 24 * time.Hour)}, now); got[0] {
		t.Error("the only version, a year old, was dropped")
	}
	if got := Staggered(nil, now); len(got) != 0 {
		t.Errorf("got %v for no versions", got)
	}
}
