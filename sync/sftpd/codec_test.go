package sftpd

import (
	"bytes"
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"
)

// samples has one packet of every type, with every attribute field in use
// somewhere.
func samples() map[string]Packet {
	full := Attrs{
		Flags: AttrSize | AttrUIDGID | AttrPermissions | AttrAcmodtime | AttrExtended,
		Size:  1 << 40, UID: 1000, GID: 100, Permissions: 0o100600, Atime: 1_600_000_000, Mtime: 1_700_000_000,
		Extended: []ExtPair{{"user.x@example.com", "v"}},
	}
	return map[string]Packet{
		"init":        &Init{Version: 3},
		"version":     &Version{Version: 3, Extensions: []ExtPair{{"posix-rename@openssh.com", "1"}, {"fsync@openssh.com", "1"}}},
		"open":        &Open{ID: 1, Path: "/a", PFlags: OpenWrite | OpenCreat | OpenExcl, Attrs: Attrs{Flags: AttrPermissions, Permissions: 0o600}},
		"close":       &HandleReq{T: TypeClose, ID: 2, Handle: "h1"},
		"read":        &Read{ID: 3, Handle: "h1", Offset: 1 << 33, Len: 32768},
		"write":       &Write{ID: 4, Handle: "h1", Offset: 7, Data: []byte("hello")},
		"lstat":       &PathReq{T: TypeLstat, ID: 5, Path: "l"},
		"fstat":       &HandleReq{T: TypeFstat, ID: 6, Handle: "h1"},
		"setstat":     &PathAttrs{T: TypeSetstat, ID: 7, Path: "/a", Attrs: full},
		"fsetstat":    &Fsetstat{ID: 8, Handle: "h1", Attrs: Attrs{Flags: AttrAcmodtime, Atime: 1, Mtime: 2}},
		"opendir":     &PathReq{T: TypeOpendir, ID: 9, Path: "/"},
		"readdir":     &HandleReq{T: TypeReaddir, ID: 10, Handle: "d1"},
		"remove":      &PathReq{T: TypeRemove, ID: 11, Path: "x"},
		"mkdir":       &PathAttrs{T: TypeMkdir, ID: 12, Path: "d", Attrs: Attrs{Flags: AttrPermissions, Permissions: 0o700}},
		"rmdir":       &PathReq{T: TypeRmdir, ID: 13, Path: "d"},
		"realpath":    &PathReq{T: TypeRealpath, ID: 14, Path: "."},
		"stat":        &PathReq{T: TypeStat, ID: 15, Path: "s"},
		"rename":      &TwoPaths{T: TypeRename, ID: 16, A: "a", B: "b"},
		"readlink":    &PathReq{T: TypeReadlink, ID: 17, Path: "l"},
		"symlink":     &TwoPaths{T: TypeSymlink, ID: 18, A: "/target", B: "link"},
		"extended":    &Extended{ID: 19, Name: "statvfs@openssh.com", Data: []byte("\x00\x00\x00\x01/")},
		"status":      &Status{ID: 20, Code: StatusNoSuchFile, Message: "no such file", Language: "en"},
		"status-bare": &Status{ID: 21, Code: StatusOK, omitTexts: true},
		"handle":      Handle(22, "h7"),
		"data":        &Data{ID: 23, Data: []byte{0, 1, 2}},
		"name": &Name{ID: 24, Entries: []NameEntry{
			{Name: ".", LongName: "drwx------ 2 u u 4096 Jan 1 00:00 .", Attrs: Attrs{Flags: AttrPermissions, Permissions: 0o40700}},
			{Name: "f", Attrs: full},
		}},
		"attrs":          &AttrsReply{ID: 25, Attrs: full},
		"extended-reply": &ExtendedReply{ID: 26, Data: []byte("xyz")},
	}
}

// TestRoundTrip encodes and decodes one packet of every type.
func TestRoundTrip(t *testing.T) {
	for name, p := range samples() {
		t.Run(name, func(t *testing.T) {
			frame := AppendFrame(nil, p)
			pkt, err := ReadFrame(bytes.NewReader(frame), nil, MaxPacket)
			if err != nil {
				t.Fatalf("ReadFrame: %v", err)
			}
			got, err := Decode(pkt)
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			if !reflect.DeepEqual(got, p) {
				t.Errorf("got %#v, want %#v", got, p)
			}
		})
	}
}

// TestWire checks encodings byte for byte against the draft's layout.
func TestWire(t *testing.T) {
	tests := []struct {
		name string
		p    Packet
		want string
	}{
		{"init", &Init{Version: 3}, "\x00\x00\x00\x05\x01\x00\x00\x00\x03"},
		{"stat", &PathReq{T: TypeStat, ID: 7, Path: "ab"}, "\x00\x00\x00\x0b\x11\x00\x00\x00\x07\x00\x00\x00\x02ab"},
		{"acmodtime", &AttrsReply{ID: 1, Attrs: Attrs{Flags: AttrAcmodtime, Atime: 2, Mtime: 3}},
			"\x00\x00\x00\x11\x69\x00\x00\x00\x01\x00\x00\x00\x08\x00\x00\x00\x02\x00\x00\x00\x03"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := string(AppendFrame(nil, tt.p)); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

// TestDecodeBad checks that malformed packets are errors.
func TestDecodeBad(t *testing.T) {
	tests := map[string]string{
		"empty":           "",
		"unknown type":    "\x63\x00\x00\x00\x01",
		"truncated id":    "\x11\x00\x00",
		"long string":     "\x11\x00\x00\x00\x01\xff\xff\xff\xff",
		"trailing bytes":  "\x11\x00\x00\x00\x01\x00\x00\x00\x00x",
		"huge name count": "\x68\x00\x00\x00\x01\xff\xff\xff\xff",
		"huge ext count":  "\x69\x00\x00\x00\x01\x80\x00\x00\x00\x10\x00\x00\x00",
		"truncated size":  "\x69\x00\x00\x00\x01\x00\x00\x00\x01\x00\x00",
		"odd init pair":   "\x01\x00\x00\x00\x03\x00\x00\x00\x01a",
	}
	for name, in := range tests {
		t.Run(name, func(t *testing.T) {
			p, err := Decode([]byte(in))
			if !errors.Is(err, ErrBadPacket) {
				t.Errorf("got %#v, %v; want an error wrapping ErrBadPacket", p, err)
			}
		})
	}
}

// TestReadFrameBounds checks the frame length limits and truncation.
func TestReadFrameBounds(t *testing.T) {
	tests := []struct {
		name, in string
		want     error
	}{
		{"zero length", "\x00\x00\x00\x00", ErrBadPacket},
		{"over max", "\x00\x00\x01\x01" + strings.Repeat("x", 257), ErrBadPacket},
		{"huge", "\xff\xff\xff\xff", ErrBadPacket},
		{"short body", "\x00\x00\x00\x05\x01", io.ErrUnexpectedEOF},
		{"short header", "\x00\x00", io.ErrUnexpectedEOF},
		{"clean end", "", io.EOF},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ReadFrame(strings.NewReader(tt.in), nil, 256)
			if !errors.Is(err, tt.want) {
				t.Errorf("got %v, want %v", err, tt.want)
			}
		})
	}
	buf := make([]byte, 0, 64)
	got, err := ReadFrame(strings.NewReader("\x00\x00\x00\x02ab"), buf, 256)
	if err != nil || string(got) != "ab" || &got[0] != &buf[:1][0] {
		t.Errorf("got %q, %v; want %q read into the given buffer", got, err, "ab")
	}
}

// FuzzDecode checks that Decode never panics and that every packet it
// accepts encodes back to the same bytes.
func FuzzDecode(f *testing.F) {
	for _, p := range samples() {
		f.Add(AppendFrame(nil, p)[4:])
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		p, err := Decode(in)
		if err != nil {
			return
		}
		out := AppendFrame(nil, p)[4:]
		if !bytes.Equal(out, in) {
			t.Errorf("round trip of %T: got %x, want %x", p, out, in)
		}
	})
}
