package syncd

import "testing"

func TestWritebackNext(t *testing.T) {
	const step = 8
	tests := []struct {
		name           string
		started, end   int64
		wantOff, wantN int64
		wantOK         bool
	}{
		{"nothing written", 0, 0, 0, 0, false},
		{"less than a step", 0, 7, 0, 0, false},
		{"a step", 0, 8, 0, 8, true},
		{"more than a step at once", 0, 21, 0, 21, true},
		{"less than a step since the last start", 16, 23, 0, 0, false},
		{"a step since the last start", 16, 24, 16, 8, true},
		{"a resumed file, synced up to its end", 100, 104, 0, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := writeback{started: tt.started}
			off, n, ok := w.next(tt.end, step)
			if off != tt.wantOff || n != tt.wantN || ok != tt.wantOK {
				t.Errorf("next(%d) after %d: got %d, %d, %v, want %d, %d, %v", tt.end, tt.started, off, n, ok, tt.wantOff, tt.wantN, tt.wantOK)
			}
		})
	}
}
