package seal_test

import (
	"errors"
	"strings"
	"testing"

	"simplecloud/sync/seal"
)

func TestNameRoundTrip(t *testing.T) {
	k := testKey(t, 10)
	for _, c := range []struct{ parent, name string }{
		{"", "a"}, {"", ".bashrc"}, {"docs", "report.pdf"}, {"docs/2026", "Ünïcode näme"},
		{"", strings.Repeat("x", 159)}, {"", strings.Repeat("y", 160)}, {"deep/er", strings.Repeat("z", 255)},
	} {
		stored, full, err := k.EncryptName(c.parent, c.name)
		if err != nil {
			t.Fatalf("%q: %v", c.name, err)
		}
		if len(stored) > seal.MaxName || strings.ContainsAny(stored, "./") {
			t.Errorf("%q: stored name %q is longer than %d or has '.' or '/'", c.name, stored, seal.MaxName)
		}
		if seal.IsLongName(stored) != (len(full) > seal.MaxName) || seal.IsLongName(stored) != (stored != full) {
			t.Errorf("%q: stored %d bytes, full %d: long-name flag wrong", c.name, len(stored), len(full))
		}
		if seal.IsLongName(stored) {
			if err := seal.CheckLongName(stored, full); err != nil {
				t.Errorf("%q: %v", c.name, err)
			}
		}
		got, err := k.DecryptName(c.parent, full)
		if err != nil || got != c.name {
			t.Errorf("got %q (%v), want %q", got, err, c.name)
		}
		again, _, _ := k.EncryptName(c.parent, c.name)
		if again != stored {
			t.Errorf("%q: encrypting twice gave %q and %q", c.name, stored, again)
		}
	}
}

// TestNameLimits pins where long names start: 159 bytes of plaintext
// (padded to 160) fit in 255 bytes of base64url with the 16-byte SIV, 160
// (padded to 176) do not.
func TestNameLimits(t *testing.T) {
	k := testKey(t, 10)
	for n, long := range map[int]bool{159: false, 160: true} {
		stored, _, err := k.EncryptName("", strings.Repeat("n", n))
		if err != nil || seal.IsLongName(stored) != long {
			t.Errorf("%d bytes: got stored %d bytes (%v), want long %v", n, len(stored), err, long)
		}
	}
}

func TestNameRefused(t *testing.T) {
	k := testKey(t, 10)
	for _, name := range []string{"", ".", "..", "a/b", "nul\x00", strings.Repeat("n", 256)} {
		if _, _, err := k.EncryptName("", name); err == nil {
			t.Errorf("%q: got no error, want one", name)
		}
	}
}

func TestNameTampered(t *testing.T) {
	k := testKey(t, 11)
	_, full, err := k.EncryptName("docs", "secret.txt")
	if err != nil {
		t.Fatal(err)
	}
	_, other, _ := k.EncryptName("docs", "public.txt")
	flip := []byte(full)
	flip[3] ^= 'A' ^ 'B'
	cases := []struct {
		name, parent, full string
		key                *seal.Key
		want               error
	}{
		{"moved to another directory", "photos", full, k, seal.ErrAuth},
		{"moved to the root", "", full, k, seal.ErrAuth},
		{"wrong key", "docs", full, testKey(t, 12), seal.ErrAuth},
		{"changed", "docs", string(flip), k, seal.ErrAuth},
		{"cut", "docs", full[:len(full)-4], k, seal.ErrAuth},
		{"cut mid-byte", "docs", full[:len(full)-2], k, seal.ErrFormat},
		{"not base64url", "docs", "a.b", k, seal.ErrFormat},
		{"other name", "docs", other, k, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := c.key.DecryptName(c.parent, c.full)
			if c.want == nil && err != nil || c.want != nil && !errors.Is(err, c.want) {
				t.Errorf("got %v, want %v", err, c.want)
			}
			var ne *seal.NameError
			if c.want != nil && !errors.As(err, &ne) {
				t.Errorf("got %T, want *NameError", err)
			}
		})
	}
	if err := seal.CheckLongName(seal.LongName(full), other); !errors.Is(err, seal.ErrAuth) {
		t.Errorf("side file of another name: got %v, want ErrAuth", err)
	}
}

func TestEncryptPath(t *testing.T) {
	k := testKey(t, 13)
	long := strings.Repeat("L", 200)
	stored, sides, err := k.EncryptPath("a/" + long + "/c.txt")
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(stored, "/")
	if len(parts) != 3 || !seal.IsLongName(parts[1]) {
		t.Fatalf("got %q, want 3 components with a long second one", stored)
	}
	full := sides[parts[0]+"/"+parts[1]]
	if len(sides) != 1 || full == "" {
		t.Fatalf("got side files %v, want one for the long component", sides)
	}
	want := []string{"a", long, "c.txt"}
	fulls := []string{parts[0], full, parts[2]}
	parent := ""
	for i, f := range fulls {
		got, err := k.DecryptName(parent, f)
		if err != nil || got != want[i] {
			t.Errorf("component %d: got %q (%v), want %q", i, got, err, want[i])
		}
		parent = strings.TrimPrefix(parent+"/"+got, "/")
	}
	// Names are padded: lengths 1 to 15 store alike, 16 longer.
	n1, _, _ := k.EncryptName("", "a")
	n15, _, _ := k.EncryptName("", strings.Repeat("a", 15))
	n16, _, _ := k.EncryptName("", strings.Repeat("a", 16))
	if len(n1) != len(n15) || len(n16) <= len(n15) {
		t.Errorf("stored lengths %d, %d, %d for names of 1, 15, 16 bytes; want equal, equal, longer", len(n1), len(n15), len(n16))
	}
	// The same name in another directory encrypts differently.
	s1, _, _ := k.EncryptName("a", "c.txt")
	s2, _, _ := k.EncryptName("b", "c.txt")
	if s1 == s2 {
		t.Error("the same name in two directories gave the same stored name")
	}
}

// TestConflictCopyName shows how a conflict copy the server makes of an
// encrypted name splits back into the encrypted base and the suffix.
func TestConflictCopyName(t *testing.T) {
	k := testKey(t, 14)
	stored, full, _ := k.EncryptName("", "report.pdf")
	base, suffix := seal.SplitStored(stored + ".sync-conflict-20261205-102030-srv")
	if base != stored || suffix != ".sync-conflict-20261205-102030-srv" {
		t.Fatalf("got %q %q, want the stored name and the suffix", base, suffix)
	}
	if name, err := k.DecryptName("", base); err != nil || name != "report.pdf" || base != full {
		t.Errorf("got %q (%v), want report.pdf", name, err)
	}
	if b, s := seal.SplitStored(stored); b != stored || s != "" {
		t.Errorf("plain entry: got %q %q", b, s)
	}
}

func TestMarker(t *testing.T) {
	k, other := testKey(t, 15), testKey(t, 16)
	if err := k.CheckMarker(k.Marker()); err != nil {
		t.Fatalf("own marker: %v", err)
	}
	err := other.CheckMarker(k.Marker())
	if !errors.Is(err, seal.ErrWrongKey) || !strings.Contains(err.Error(), k.ID()) || !strings.Contains(err.Error(), other.ID()) {
		t.Errorf("other key: got %v, want ErrWrongKey naming %s and %s", err, k.ID(), other.ID())
	}
	forged := strings.Replace(string(other.Marker()), other.ID(), k.ID(), 1)
	if err := k.CheckMarker([]byte(forged)); !errors.Is(err, seal.ErrAuth) {
		t.Errorf("forged marker: got %v, want ErrAuth", err)
	}
	if err := k.CheckMarker([]byte("junk")); !errors.Is(err, seal.ErrFormat) {
		t.Errorf("junk: got %v, want ErrFormat", err)
	}
	if len(seal.MarkerName) >= 43 || strings.Contains(seal.MarkerName, ".") {
		t.Errorf("marker name %q could be taken for an encrypted name", seal.MarkerName)
	}
}

func TestTarget(t *testing.T) {
	k := testKey(t, 17)
	stored, err := k.EncryptTarget("docs/link", "../photos/a b.jpg")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(stored, "photos") || strings.ContainsAny(stored, "/.") {
		t.Errorf("stored target %q shows the plaintext or has '/' or '.'", stored)
	}
	if got, err := k.DecryptTarget("docs/link", stored); err != nil || got != "../photos/a b.jpg" {
		t.Errorf("got %q (%v), want the target", got, err)
	}
	if _, err := k.DecryptTarget("docs/other", stored); !errors.Is(err, seal.ErrAuth) {
		t.Errorf("target moved to another link: got %v, want ErrAuth", err)
	}
	if _, err := k.EncryptTarget("l", ""); err == nil {
		t.Error("an empty target was accepted")
	}
}
