package seal_test

import (
	"crypto/rand"
	"errors"
	"fmt"
	"strings"
	"testing"

	"simplecloud/sync/seal"
)

func TestTextRoundTrip(t *testing.T) {
	k, err := seal.Generate(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	text := k.Text()
	if len(text) != 60+14 || strings.Count(text, "-") != 14 {
		t.Errorf("got %q, want 15 groups of 4 joined by dashes", text)
	}
	for _, in := range []string{
		text,
		strings.ToLower(text),
		strings.ReplaceAll(text, "-", ""),
		strings.ReplaceAll(text, "-", " "),
		"  " + text + "\n",
	} {
		got, err := seal.ParseText(in)
		if err != nil || !got.Equal(k) {
			t.Errorf("%q: got %v, want the key back", in, err)
		}
	}
	got, err := seal.ParseFile(k.File())
	if err != nil || !got.Equal(k) || got.ID() != k.ID() {
		t.Errorf("key file: got %v, want the key back", err)
	}
	if !strings.Contains(string(k.File()), "# id "+k.ID()) {
		t.Errorf("key file %q does not name the id", k.File())
	}
}

// TestTextLookalikes checks that digits typed for look-alike letters are
// read as the letters.
func TestTextLookalikes(t *testing.T) {
	for b := 0; b < 256; b++ {
		k := testKey(t, byte(b))
		text := k.Text()
		typed := strings.NewReplacer("O", "0", "I", "1", "B", "8").Replace(text)
		if typed == text {
			continue
		}
		if got, err := seal.ParseText(typed); err != nil || !got.Equal(k) {
			t.Errorf("%q: got %v, want the key", typed, err)
		}
		return
	}
	t.Fatal("no key of the 256 tried has a look-alike letter")
}

// TestTextTypos changes every character of a key's text to every other
// letter of the alphabet and swaps every pair of neighbours: each must be
// refused, and a single wrong character is located.
func TestTextTypos(t *testing.T) {
	k := testKey(t, 0x5a)
	text := strings.ReplaceAll(k.Text(), "-", "")
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
	for i := range text {
		for _, c := range alphabet {
			if byte(c) == text[i] {
				continue
			}
			typo := text[:i] + string(c) + text[i+1:]
			_, err := seal.ParseText(typo)
			if !errors.Is(err, seal.ErrKeyText) {
				t.Fatalf("character %d as %c: got %v, want ErrKeyText", i+1, c, err)
			}
			if i < len(text)-1 && !strings.Contains(err.Error(), fmt.Sprintf("character %d ", i+1)) {
				t.Errorf("character %d as %c: got %q, want it located", i+1, c, err)
			}
		}
		if i+1 < len(text) && text[i] != text[i+1] {
			swapped := text[:i] + string(text[i+1]) + string(text[i]) + text[i+2:]
			if _, err := seal.ParseText(swapped); !errors.Is(err, seal.ErrKeyText) {
				t.Fatalf("characters %d and %d swapped: got %v, want ErrKeyText", i+1, i+2, err)
			}
		}
	}
}

func TestTextRefused(t *testing.T) {
	k := testKey(t, 0x33)
	text := k.Text()
	other := testKey(t, 0x34)
	cases := []struct{ name, in, want string }{
		{"empty", "", "0 characters, want 60"},
		{"short", text[:len(text)-1], "59 characters"},
		{"long", text + "A", "61 characters"},
		{"bad character", "!" + text[1:], "character 1 (group 1) is not a letter"},
		{"other id", strings.Replace(string(k.File()), k.ID(), other.ID(), 1), "names key " + other.ID()},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := seal.ParseFile([]byte(c.in))
			if !errors.Is(err, seal.ErrKeyText) || !strings.Contains(err.Error(), c.want) {
				t.Errorf("got %v, want ErrKeyText saying %q", err, c.want)
			}
			if err != nil && strings.Contains(err.Error(), text[5:20]) {
				t.Errorf("error %q shows the key", err)
			}
		})
	}
}

// TestKeyIDs checks that ids differ between keys and do not show the
// secret.
func TestKeyIDs(t *testing.T) {
	a, b := testKey(t, 1), testKey(t, 2)
	if a.ID() == b.ID() || len(a.ID()) != 16 {
		t.Errorf("got ids %q and %q, want two different 16-digit ids", a.ID(), b.ID())
	}
	if strings.Contains(a.ID(), "0101") {
		t.Errorf("id %q shows the secret", a.ID())
	}
	if _, err := seal.NewKey(make([]byte, 31)); err == nil {
		t.Error("a 31-byte key was accepted")
	}
}
