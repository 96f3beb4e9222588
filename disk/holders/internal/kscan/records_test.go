package kscan

import (
	"encoding/binary"
	"testing"
)

func TestDecodeRecords(t *testing.T) {
	// Two file records as the file program writes them.
	var b []byte
	for _, r := range []struct{ tgid, uid, fd, dev uint32 }{{1, 1000, 3, 7 << 20}, {2, 0, 4, 0}} {
		b = binary.NativeEndian.AppendUint32(b, r.tgid)
		b = binary.NativeEndian.AppendUint32(b, r.uid)
		for _, v := range []uint64{4026531841, 5_000_000_000, 0xffff888012345678} { // namespace, start, css_set
			b = binary.NativeEndian.AppendUint64(b, v)
		}
		b = append(b, "sleep\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00"...)
		b = binary.NativeEndian.AppendUint64(b, 0x7ffc00001000) // arguments
		b = binary.NativeEndian.AppendUint64(b, 0x7ffc00001010)
		b = binary.NativeEndian.AppendUint32(b, r.tgid+1) // the thread
		b = binary.NativeEndian.AppendUint32(b, r.fd)
		b = binary.NativeEndian.AppendUint32(b, r.dev)
		b = binary.NativeEndian.AppendUint32(b, 0)
		b = binary.NativeEndian.AppendUint64(b, 0xffff888000001000) // mount
		b = binary.NativeEndian.AppendUint64(b, 0xffff888000002000) // dentry
	}
	got, err := decodeRecords[FileRecord](b, fileRecordSize)
	if err != nil || len(got) != 2 || got[0].TGID != 1 || got[0].UID != 1000 || got[0].FD != 3 ||
		got[0].Dev.Dev() != (Dev{7, 0}) || got[1].FD != 4 || got[1].MountNS != 4026531841 ||
		got[1].TID != 3 || got[1].StartNS != 5_000_000_000 || got[1].ArgEnd != 0x7ffc00001010 || got[1].CSS != 0xffff888012345678 || got[1].Command() != "sleep" ||
		got[1].Path != (PathKey{0xffff888000001000, 0xffff888000002000}) {
		t.Errorf("got %+v, %v", got, err)
	}
	if _, err := decodeRecords[FileRecord](b[:20], fileRecordSize); err == nil {
		t.Error("a partial record: got no error")
	}
	if _, err := decodeRecords[FileRecord](b, 8); err == nil {
		t.Error("wrong record size: got no error")
	}
	if got, err := decodeRecords[TaskRecord](nil, taskRecordSize); err != nil || len(got) != 0 {
		t.Errorf("no records: got %v, %v", got, err)
	}
	// The sizes the programs write are the sizes of the Go records.
	if _, err := decodeRecords[MapRecord](nil, mapRecordSize); err != nil {
		t.Error(err)
	}
	if p := (ProcInfo{Comm: [16]byte{'s', 'l', 'e', 'e', 'p'}, StartNS: 1_234_000_000}); p.Command() != "sleep" || p.StartTicks() != 123 {
		t.Errorf("Command, StartTicks: got %q, %d", p.Command(), p.StartTicks())
	}
}

func TestSplitFDRecords(t *testing.T) {
	info := ProcInfo{TGID: 42, UID: 1000, StartNS: 7}
	tasks := []TaskRecord{
		{ProcInfo: info, TID: 42, Kinds: 1 << KindCwd},
		{ProcInfo: info, TID: 42, Kinds: 1 << KindFD, FD: 5, FDDev: 7 << 20, Path: PathKey{1, 2}},
		{ProcInfo: info, TID: 43, Kinds: 1 << KindRoot},
	}
	got, files := splitFDRecords([][]TaskRecord{tasks[:1], tasks[1:]}, []FileRecord{{ProcInfo: ProcInfo{TGID: 9}, FD: 1}})
	if len(got) != 2 || got[0].TID != 42 || got[1].TID != 43 {
		t.Errorf("tasks: got %+v", got)
	}
	want := FileRecord{ProcInfo: info, TID: 42, FD: 5, Dev: 7 << 20, Path: PathKey{1, 2}}
	if len(files) != 2 || files[0].TGID != 9 || files[1] != want {
		t.Errorf("files: got %+v, want the old one and %+v", files, want)
	}
}
