package luks

import (
	"bufio"
	"encoding/hex"
	"fmt"
	"io"
	"slices"
	"strings"
)

// JSON returns the metadata as compact JSON, as it is written to disk.
func (m *Metadata) JSON() []byte { return m.marshal() }

// WriteDump prints the header in the layout of cryptsetup luksDump.
func WriteDump(w io.Writer, h *Header) error {
	bw := bufio.NewWriter(w)
	if h.V1 != nil {
		dumpLUKS1(bw, h)
	} else {
		dumpLUKS2(bw, h)
	}
	return bw.Flush()
}

func orNone(s, none string) string {
	if s == "" {
		return none
	}
	return s
}

func hexLines(w io.Writer, b []byte, indent string) {
	for i := 0; i < len(b); i += 16 {
		if i > 0 {
			fmt.Fprint(w, indent)
		}
		for _, c := range b[i:min(i+16, len(b))] {
			fmt.Fprintf(w, "%02x ", c)
		}
		fmt.Fprintln(w)
	}
}

func dumpLUKS2(w io.Writer, h *Header) {
	m := h.Meta
	fmt.Fprintf(w, "LUKS header information\nVersion:       \t2\nEpoch:         \t%d\n", h.SeqID)
	fmt.Fprintf(w, "Metadata area: \t%d [bytes]\nKeyslots area: \t%d [bytes]\n", h.HdrSize, m.Config.KeyslotsSize)
	fmt.Fprintf(w, "UUID:          \t%s\nLabel:         \t%s\nSubsystem:     \t%s\n", h.UUID,
		orNone(h.Label, "(no label)"), orNone(h.Subsystem, "(no subsystem)"))
	fmt.Fprintf(w, "Flags:       \t%s\n", orNone(strings.Join(m.Config.Flags, " "), "(no flags)"))
	if req := m.Config.Mandatory(); len(req) > 0 {
		fmt.Fprintf(w, "Requirements:\t%s\n", strings.Join(req, " "))
	}
	fmt.Fprintf(w, "\nData segments:\n")
	for _, id := range sortedIDs(m.Segments) {
		s := m.Segments[id]
		fmt.Fprintf(w, "  %d: %s\n\toffset: %d [bytes]\n", id, s.Type, s.Offset)
		if s.Dynamic {
			fmt.Fprintf(w, "\tlength: (whole device)\n")
		} else {
			fmt.Fprintf(w, "\tlength: %d [bytes]\n", s.Size)
		}
		if s.Type == "crypt" {
			fmt.Fprintf(w, "\tcipher: %s\n\tsector: %d [bytes]\n", s.Encryption, s.SectorSize)
		}
		if len(s.Flags) > 0 {
			fmt.Fprintf(w, "\tflags : %s\n", strings.Join(s.Flags, " "))
		}
	}
	fmt.Fprintf(w, "\nKeyslots:\n")
	for _, id := range sortedIDs(m.Keyslots) {
		dumpKeyslot(w, m, id)
	}
	fmt.Fprintf(w, "Tokens:\n")
	for _, id := range sortedIDs(m.Tokens) {
		t := m.Tokens[id]
		fmt.Fprintf(w, "  %d: %s\n", id, t.Type)
		for _, k := range t.Keyslots {
			fmt.Fprintf(w, "\tKeyslot:    %d\n", k)
		}
	}
	fmt.Fprintf(w, "Digests:\n")
	for _, id := range sortedIDs(m.Digests) {
		d := m.Digests[id]
		fmt.Fprintf(w, "  %d: %s\n", id, d.Type)
		if d.Type == "pbkdf2" {
			fmt.Fprintf(w, "\tHash:       %s\n\tIterations: %d\n\tSalt:       ", d.Hash, d.Iterations)
			hexLines(w, d.Salt, "\t            ")
			fmt.Fprintf(w, "\tDigest:     ")
			hexLines(w, d.Digest, "\t            ")
		}
	}
}

var priorityNames = map[int]string{PriorityIgnore: "ignored", PriorityNormal: "normal", PriorityHigh: "preferred"}

func dumpKeyslot(w io.Writer, m *Metadata, id int) {
	k := m.Keyslots[id]
	fmt.Fprintf(w, "  %d: %s\n", id, k.Type)
	if k.Type != "luks2" {
		return
	}
	fmt.Fprintf(w, "\tKey:        %d bits\n\tPriority:   %s\n", k.KeySize*8, priorityNames[k.PriorityValue()])
	fmt.Fprintf(w, "\tCipher:     %s\n\tCipher key: %d bits\n\tPBKDF:      %s\n", k.Area.Encryption, k.Area.KeySize*8, k.KDF.Type)
	if k.KDF.Type == "pbkdf2" {
		fmt.Fprintf(w, "\tHash:       %s\n\tIterations: %d\n", k.KDF.Hash, k.KDF.Iterations)
	} else {
		fmt.Fprintf(w, "\tTime cost:  %d\n\tMemory:     %d\n\tThreads:    %d\n", k.KDF.Time, k.KDF.Memory, k.KDF.CPUs)
	}
	fmt.Fprintf(w, "\tSalt:       ")
	hexLines(w, k.KDF.Salt, "\t            ")
	fmt.Fprintf(w, "\tAF stripes: %d\n\tAF hash:    %s\n", k.AF.Stripes, k.AF.Hash)
	fmt.Fprintf(w, "\tArea offset:%d [bytes]\n\tArea length:%d [bytes]\n", k.Area.Offset, k.Area.Size)
	if d := m.DigestOf(id); d >= 0 {
		fmt.Fprintf(w, "\tDigest ID:  %d\n", d)
	}
}

func dumpLUKS1(w io.Writer, h *Header) {
	v := h.V1
	fmt.Fprintf(w, "LUKS header information\n\nVersion:       \t1\nCipher name:   \t%s\nCipher mode:   \t%s\nHash spec:     \t%s\n",
		v.CipherName, v.CipherMode, v.HashSpec)
	fmt.Fprintf(w, "Payload offset:\t%d\nMK bits:       \t%d\nMK digest:     \t", v.PayloadOffset, v.KeyBytes*8)
	hexLines(w, v.MKDigest, "               \t")
	fmt.Fprintf(w, "MK salt:       \t")
	hexLines(w, v.MKDigestSalt, "               \t")
	fmt.Fprintf(w, "MK iterations: \t%d\nUUID:          \t%s\n\n", v.MKDigestIter, h.UUID)
	for i, s := range v.Slots {
		if !s.Active {
			fmt.Fprintf(w, "Key Slot %d: DISABLED\n", i)
			continue
		}
		fmt.Fprintf(w, "Key Slot %d: ENABLED\n\tIterations:         \t%d\n\tSalt:               \t", i, s.Iterations)
		hexLines(w, s.Salt, "\t                      \t")
		fmt.Fprintf(w, "\tKey material offset:\t%d\n\tAF stripes:            \t%d\n", s.KeyMaterialOff, s.Stripes)
	}
}

// ActiveSlots returns the numbers of the keyslots in use.
func (h *Header) ActiveSlots() []int {
	if h.V1 != nil {
		var out []int
		for i, s := range h.V1.Slots {
			if s.Active {
				out = append(out, i)
			}
		}
		return out
	}
	return slices.Sorted(func(yield func(int) bool) {
		for id := range h.Meta.Keyslots {
			if !yield(id) {
				return
			}
		}
	})
}

// WriteVolumeKey prints the volume key vk of the volume at path in hex, in
// the layout of cryptsetup luksDump --dump-volume-key. Anyone with it reads
// the data without a passphrase. The hex text is cleared after writing.
func WriteVolumeKey(w io.Writer, h *Header, path string, vk []byte) error {
	fmt.Fprintf(w, "LUKS header information for %s\nCipher:        %s\nUUID:          %s\nMK bits:       %d\nMK dump:       ",
		path, h.Cipher(), h.UUID, len(vk)*8)
	b := make([]byte, hex.EncodedLen(len(vk)), hex.EncodedLen(len(vk))+1)
	hex.Encode(b, vk)
	b = append(b, '\n')
	_, err := w.Write(b)
	clear(b)
	return err
}

// DescribeKeyslot says in a line how the passphrase of keyslot slot is
// hashed.
func (h *Header) DescribeKeyslot(slot int) string {
	var k *Keyslot
	if h.Meta != nil {
		k = h.Meta.Keyslots[slot]
	}
	switch {
	case k == nil:
		return fmt.Sprintf("key slot %d", slot)
	case k.KDF.Type == "pbkdf2":
		return fmt.Sprintf("key slot %d: pbkdf2-%s, %d iterations", slot, k.KDF.Hash, k.KDF.Iterations)
	}
	return fmt.Sprintf("key slot %d: %s, %d iterations, %d KiB, %d threads", slot, k.KDF.Type, k.KDF.Time, k.KDF.Memory, k.KDF.CPUs)
}
