package seal_test

import (
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"testing"
)

// TestFormatKnownAnswers pins the format (with the chunker of 64/256/1024
// bytes and this key's gear seed) (FORMAT.md's test vectors): a
// change here breaks every sealed folder and needs a new format version.
func TestFormatKnownAnswers(t *testing.T) {
	k := testKey(t, 0x42)
	sealed, recs := sealBytes(t, k, smallChunker(t, k), stream("simplecloud seal kat", 5000))
	sum := sha256.Sum256(sealed)
	name, _, err := k.EncryptName("docs", "report.pdf")
	if err != nil {
		t.Fatal(err)
	}
	gear := k.GearSeed()
	got := map[string]string{
		"id":      k.ID(),
		"gear":    hex.EncodeToString(gear),
		"text":    k.Text(),
		"name":    name,
		"records": strconv.Itoa(len(recs)),
		"first":   hex.EncodeToString(recs[0].ID[:]),
		"end":     hex.EncodeToString(recs[len(recs)-1].ID[:]),
		"sealed":  hex.EncodeToString(sum[:]),
	}
	want := map[string]string{
		"id":      "324ddbbc7f47cd8e",
		"gear":    "b8e758a4070febfa63d529bab8993c38414b830e5a361deaa91dba73f6d6c9cb",
		"text":    "AFBE-EQSC-IJBE-EQSC-IJBE-EQSC-IJBE-EQSC-IJBE-EQSC-IJBE-EQSC-IJBE-ENGE-ZZFQ",
		"name":    "R3zY5Zl7dLphoRbhwtamC1Lzb5T075YAP_RVyvx3Hoc",
		"records": "16",
		"first":   "7de14fa1661568a446842722dc0697fecba41482e5046586365cd9e85547d0e0",
		"end":     "24da3fd88f0d81270598060dfb1943b65d1618bd0f8d50a3e19f71dbba6abb3a",
		"sealed":  "cf83da98fdf4e52b994610b2d3923b6b942179bde13a4666eb5dce8ef96168f5",
	}
	for _, f := range []string{"id", "gear", "text", "name", "records", "first", "end", "sealed"} {
		if got[f] != want[f] {
			t.Errorf("%s: got %q, want %q", f, got[f], want[f])
		}
	}
}
