package luks

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// volumeFile writes a volume with passphrase "right" to an image file.
func volumeFile(t *testing.T) string {
	t.Helper()
	dev, _, _ := newTestVolume(t, "right")
	p := filepath.Join(t.TempDir(), "v.img")
	if err := os.WriteFile(p, dev.b, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestOpenVolume(t *testing.T) {
	v, err := OpenVolume(volumeFile(t), false)
	if err != nil {
		t.Fatal(err)
	}
	if v.Header.Version != 2 || v.Dev.Geometry.Size != 4<<20 {
		t.Errorf("got LUKS%d on %d bytes, want LUKS2 on 4 MiB", v.Header.Version, v.Dev.Geometry.Size)
	}
	if err := v.Close(); err != nil {
		t.Error(err)
	}
	blank := filepath.Join(t.TempDir(), "blank.img")
	os.WriteFile(blank, make([]byte, 1<<20), 0o600)
	if _, err := OpenVolume(blank, false); !errors.Is(err, ErrNotLUKS) {
		t.Errorf("blank image: got %v, want ErrNotLUKS", err)
	}
}

func TestUnlockAsking(t *testing.T) {
	v, err := OpenVolume(volumeFile(t), false)
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	errGiveUp := errors.New("give up")
	for _, c := range []struct {
		name    string
		answers []string // then ask gives up
		tries   int
		ok      bool
		wantErr error
		asked   int
	}{
		{"second try", []string{"wrong", "right"}, 3, true, nil, 2},
		{"all tries wrong", []string{"a", "b", "right"}, 2, false, ErrWrongKey, 2},
		{"no limit until the asker gives up", []string{"a", "b", "c"}, 0, false, errGiveUp, 4},
	} {
		t.Run(c.name, func(t *testing.T) {
			var lasts []error
			var given [][]byte
			vk, slot, err := v.UnlockAsking(AnySlot, c.tries, func(attempt int, last error) ([]byte, error) {
				if attempt != len(lasts)+1 {
					t.Errorf("got attempt %d, want %d", attempt, len(lasts)+1)
				}
				lasts = append(lasts, last)
				if len(lasts) > len(c.answers) {
					return nil, errGiveUp
				}
				p := []byte(c.answers[len(lasts)-1])
				given = append(given, p)
				return p, nil
			})
			if c.ok != (err == nil) || c.ok && (slot != 0 || len(vk) == 0) || c.wantErr != nil && !errors.Is(err, c.wantErr) {
				t.Errorf("got key of %d bytes, slot %d, %v; want ok %v, error %v", len(vk), slot, err, c.ok, c.wantErr)
			}
			if len(lasts) != c.asked || lasts[0] != nil || len(lasts) > 1 && !errors.Is(lasts[1], ErrWrongKey) {
				t.Errorf("got %d questions with last errors %v; want %d, the second told of a wrong key", len(lasts), lasts, c.asked)
			}
			for _, p := range given {
				if !bytes.Equal(p, make([]byte, len(p))) {
					t.Errorf("passphrase %q was not cleared", p)
				}
			}
		})
	}
}
