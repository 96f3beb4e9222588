package seal_test

import (
	"bytes"
	"testing"

	"simplecloud/sync/seal"
)

// TestRecords: Records gives the records Seal writes, without encrypting,
// for an empty file, one chunk and many.
func TestRecords(t *testing.T) {
	k := testKey(t, 0x42)
	sp := smallChunker(t, k)
	for _, n := range []int{0, 1, 63, 5000} {
		data := stream("records", n)
		_, want := sealBytes(t, k, sp, data)
		var got []seal.Record
		if err := k.Records(bytes.NewReader(data), sp, func(r seal.Record) { got = append(got, r) }); err != nil {
			t.Fatal(err)
		}
		if len(got) != len(want) {
			t.Fatalf("%d bytes: got %d records, want %d", n, len(got), len(want))
		}
		for i := range got {
			if got[i] != want[i] {
				t.Errorf("%d bytes, record %d: got %x/%d, want %x/%d", n, i, got[i].ID[:4], got[i].Size, want[i].ID[:4], want[i].Size)
			}
		}
	}
}
