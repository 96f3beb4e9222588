package disk

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

const testUUID = "6f1c2b3a-4d5e-4f60-8a7b-9c0d1e2f3a4b"

func TestProbe(t *testing.T) {
	cases := []struct {
		name string
		img  []piece
		want []Signature
	}{
		{"blank", nil, []Signature{}},
		{"luks1", []piece{{0, luksImage(1, testUUID, "")}}, []Signature{{Type: "luks1", UUID: testUUID}}},
		{"luks2", []piece{{0, luksImage(2, testUUID, "data")}}, []Signature{{Type: "luks2", UUID: testUUID, Label: "data"}}},
		{"luks2 secondary only", []piece{{16384, append([]byte("SKUL\xba\xbe"), luksImage(2, testUUID, "")[6:]...)}},
			[]Signature{{Type: "luks2", UUID: testUUID}}},
		{"ext4", []piece{{0, ext4Image(testUUID, "root")}}, []Signature{{Type: "ext4", UUID: testUUID, Label: "root"}}},
		{"xfs", []piece{{0, xfsImage(testUUID, "srv")}}, []Signature{{Type: "xfs", UUID: testUUID, Label: "srv"}}},
		{"btrfs", []piece{{0, btrfsImage(testUUID, "pool")}}, []Signature{{Type: "btrfs", UUID: testUUID, Label: "pool"}}},
		{"swap", []piece{{0, swapImage(testUUID, "sw")}}, []Signature{{Type: "swap", UUID: testUUID, Label: "sw"}}},
		{"lvm2", []piece{{0, lvmImage("Hq3Zc0e1vZ7WbY0ZgqNnK6q3o0h1Zr2p")}}, []Signature{{Type: "lvm2", UUID: "Hq3Zc0-e1vZ-7WbY-0Zgq-NnK6-q3o0-h1Zr2p"}}},
		{"md", []piece{{0, mdImage(testUUID, "host:0")}}, []Signature{{Type: "md", UUID: testUUID, Label: "host:0"}}},
		{"vfat", []piece{{0, vfatImage(0x1234abcd, "EFI")}}, []Signature{{Type: "vfat", UUID: "1234-ABCD", Label: "EFI"}}},
		{"ntfs", []piece{{0, ntfsImage(0x0123456789abcdef)}}, []Signature{{Type: "ntfs", UUID: "0123456789ABCDEF"}}},
		{"iso9660", []piece{{0, isoImage("DEBIAN")}}, []Signature{{Type: "iso9660", Label: "DEBIAN"}}},
		{"gpt", []piece{{0, gptImage(testUUID, 1<<21)}}, []Signature{{Type: "gpt", UUID: testUUID}}},
		{"mbr", []piece{{0, mbrImage(0xdeadbeef, 0x83, 2048, 4096)}}, []Signature{{Type: "mbr", UUID: "deadbeef"}}},
		{"mbr with bad boot flag", []piece{{0, func() []byte { b := mbrImage(1, 0x83, 2048, 4096); b[446] = 0x12; return b }()}}, []Signature{}},
		{"ext4 in an mbr partition is not seen on the disk", []piece{{0, mbrImage(7, 0x83, 2048, 4096)}, {2048 * 512, ext4Image(testUUID, "")}},
			[]Signature{{Type: "mbr", UUID: "00000007"}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var buf []byte
			for _, p := range c.img {
				if need := int(p.off) + len(p.data); need > len(buf) {
					buf = append(buf, make([]byte, need-len(buf))...)
				}
				copy(buf[p.off:], p.data)
			}
			got, err := Probe(bytes.NewReader(buf), int64(len(buf)))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, c.want) {
				t.Errorf("got %+v, want %+v", got, c.want)
			}
		})
	}
}

// TestProbeRealTools checks Probe against images the real tools wrote and
// against blkid reading our hand-built ones.
func TestProbeRealTools(t *testing.T) {
	dir := t.TempDir()
	tools := []struct {
		name, tool string
		argv       []string
		want       string
	}{
		{"ext4", "mkfs.ext4", []string{"-q", "-F", "-L", "probe", "-U", testUUID}, "ext4"},
		{"ext2", "mkfs.ext4", []string{"-q", "-F", "-t", "ext2", "-U", testUUID}, "ext2"},
		{"ext3", "mkfs.ext4", []string{"-q", "-F", "-t", "ext3", "-U", testUUID}, "ext3"},
		{"swap", "mkswap", []string{"-q", "-L", "probe", "-U", testUUID}, "swap"},
	}
	for _, tc := range tools {
		t.Run(tc.name, func(t *testing.T) {
			bin, err := exec.LookPath(tc.tool)
			if err != nil {
				t.Skipf("%s not installed: %v", tc.tool, err)
			}
			img := filepath.Join(dir, tc.name+".img")
			writeImage(t, img, 16<<20)
			if out, err := exec.Command(bin, append(tc.argv, img)...).CombinedOutput(); err != nil {
				t.Fatalf("%s: %v: %s", tc.tool, err, out)
			}
			got := probeFile(t, img)
			if len(got) != 1 || got[0].Type != tc.want || got[0].UUID != testUUID {
				t.Errorf("got %+v, want one %s with uuid %s", got, tc.want, testUUID)
			}
		})
	}
	t.Run("luks2 by cryptsetup", func(t *testing.T) {
		bin, err := exec.LookPath("cryptsetup")
		if err != nil {
			t.Skipf("cryptsetup not installed: %v", err)
		}
		img := filepath.Join(dir, "luks.img")
		writeImage(t, img, 32<<20)
		cmd := exec.Command(bin, "luksFormat", "-q", "--type", "luks2", "--pbkdf", "pbkdf2", "--pbkdf-force-iterations", "1000",
			"--uuid", testUUID, "--label", "probe", "--key-file", "-", img)
		cmd.Stdin = strings.NewReader("not a secret")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("cryptsetup: %v: %s", err, out)
		}
		want := []Signature{{Type: "luks2", UUID: testUUID, Label: "probe"}}
		if got := probeFile(t, img); !reflect.DeepEqual(got, want) {
			t.Errorf("got %+v, want %+v", got, want)
		}
	})
	blkid, err := exec.LookPath("blkid")
	if err != nil {
		t.Skipf("blkid not installed: %v", err)
	}
	for _, c := range []struct {
		name     string
		data     []byte
		typ, key string
	}{
		{"ext4", ext4Image(testUUID, "x"), "ext4", "TYPE"},
		{"swap", swapImage(testUUID, "x"), "swap", "TYPE"},
		{"luks2", luksImage(2, testUUID, "x"), "crypto_LUKS", "TYPE"},
		{"gpt", gptImage(testUUID, 1<<15), "gpt", "PTTYPE"},
		{"mbr", mbrImage(0xdeadbeef, 0x83, 2048, 4096), "dos", "PTTYPE"},
	} {
		t.Run("blkid reads our "+c.name, func(t *testing.T) {
			img := filepath.Join(dir, "hand-"+c.name+".img")
			writeImage(t, img, 16<<20, piece{0, c.data})
			out, _ := exec.Command(blkid, "-p", "-o", "export", img).Output()
			if !strings.Contains(string(out), c.key+"="+c.typ+"\n") {
				t.Errorf("blkid says %q, want %s=%s", out, c.key, c.typ)
			}
		})
	}
}

func probeFile(t *testing.T, path string) []Signature {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	st, _ := f.Stat()
	sigs, err := Probe(f, st.Size())
	if err != nil {
		t.Fatal(err)
	}
	return sigs
}
