package provision

import (
	"testing"

	"simplecloud/luks"
)

func TestParseSize(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want uint64
		bad  bool
	}{
		{in: "4096", want: 4096},
		{in: "64M", want: 64 << 20},
		{in: "64MiB", want: 64 << 20},
		{in: "10g", want: 10 << 30},
		{in: "10GB", want: 10 << 30},
		{in: "1T", want: 1 << 40},
		{in: "8K", want: 8 << 10},
		{in: "4097", bad: true},
		{in: "1K", bad: true},
		{in: "0", bad: true},
		{in: "", bad: true},
		{in: "-5M", bad: true},
		{in: "1.5G", bad: true},
		{in: "5X", bad: true},
		{in: "99999999999T", bad: true},
	} {
		t.Run(tc.in, func(t *testing.T) {
			got, err := ParseSize(tc.in)
			if tc.bad {
				if err == nil {
					t.Fatalf("ParseSize(%q) = %d, want an error", tc.in, got)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("ParseSize(%q) = %d, %v; want %d", tc.in, got, err, tc.want)
			}
		})
	}
}

func TestPlanDataImage(t *testing.T) {
	for _, tc := range []struct {
		name      string
		size, off uint64
		sector    int
		want      DataImageLayout
		bad       bool
	}{
		{name: "default 64M", size: 64 << 20,
			want: DataImageLayout{Size: 64 << 20, DataOffset: luks.DefaultDataOffset, Payload: 48 << 20, SectorSize: 4096, FSBlocks: 48 << 8}},
		{name: "10G 512", size: 10 << 30, sector: 512,
			want: DataImageLayout{Size: 10 << 30, DataOffset: 16 << 20, Payload: 10<<30 - 16<<20, SectorSize: 512, FSBlocks: (10<<30 - 16<<20) / 4096}},
		{name: "own offset", size: 8 << 20, off: 1 << 20,
			want: DataImageLayout{Size: 8 << 20, DataOffset: 1 << 20, Payload: 7 << 20, SectorSize: 4096, FSBlocks: 7 << 8}},
		{name: "header only", size: 16 << 20, bad: true},
		{name: "too small for fs", size: 20<<20 - 4096, bad: true},
		{name: "payload not whole blocks", size: 64<<20 + 512, sector: 512, bad: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := PlanDataImage(tc.size, tc.off, tc.sector)
			if tc.bad {
				if err == nil {
					t.Fatalf("PlanDataImage(%d) = %+v, want an error", tc.size, got)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("PlanDataImage(%d) = %+v, %v; want %+v", tc.size, got, err, tc.want)
			}
		})
	}
}

func TestMke2fsOutOfSpace(t *testing.T) {
	for _, tc := range []struct {
		stderr string
		want   bool
	}{
		{"mke2fs: Could not allocate block in ext2 filesystem while populating file system", true},
		{"__populate_fs: No space left on device", true},
		{"mke2fs: invalid block size", false},
	} {
		if got := mke2fsOutOfSpace(tc.stderr); got != tc.want {
			t.Errorf("mke2fsOutOfSpace(%q) = %v, want %v", tc.stderr, got, tc.want)
		}
	}
}
