package proto

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/fxamacker/cbor/v2"
)

// encMode writes Core Deterministic CBOR (RFC 8949 section 4.2) with every
// Go string as a byte string: Linux paths are bytes, not always UTF-8.
var encMode = func() cbor.EncMode {
	o := cbor.CoreDetEncOptions()
	o.String = cbor.StringToByteString
	em, err := o.EncMode()
	if err != nil {
		panic("proto: cbor encoder options: " + err.Error())
	}
	return em
}()

// decMode reads what encMode writes and bounds what a hostile peer can
// make it allocate: the input is checked to be well-formed first (so no
// length exceeds the frame), arrays and maps are capped, nesting is
// shallow, tags and indefinite lengths are refused, duplicate keys are an
// error and unknown keys are skipped (a newer peer's fields).
var decMode = func() cbor.DecMode {
	dm, err := cbor.DecOptions{
		DupMapKey:          cbor.DupMapKeyEnforcedAPF,
		MaxNestedLevels:    8,
		MaxArrayElements:   MaxBatch,
		MaxMapPairs:        32,
		IndefLength:        cbor.IndefLengthForbidden,
		TagsMd:             cbor.TagsForbidden,
		UTF8:               cbor.UTF8DecodeInvalid,
		ByteStringToString: cbor.ByteStringToStringAllowed,
	}.DecMode()
	if err != nil {
		panic("proto: cbor decoder options: " + err.Error())
	}
	return dm
}()

// newMessage returns a new zero message of type t, or nil for an unknown
// type.
func newMessage(t Type) Message {
	switch t {
	case TypeHello:
		return new(Hello)
	case TypeWelcome:
		return new(Welcome)
	case TypeBye:
		return new(Bye)
	case TypeList:
		return new(List)
	case TypeStat:
		return new(Stat)
	case TypeSubscribe:
		return new(Subscribe)
	case TypeChunks:
		return new(Chunks)
	case TypeRead:
		return new(Read)
	case TypePut:
		return new(Put)
	case TypeCopy:
		return new(Copy)
	case TypeData:
		return new(Data)
	case TypeCommit:
		return new(Commit)
	case TypeDelete:
		return new(Delete)
	case TypeRename:
		return new(Rename)
	case TypeMkdir:
		return new(Mkdir)
	case TypeSymlink:
		return new(Symlink)
	case TypeSetAttr:
		return new(SetAttr)
	case TypeVersions:
		return new(Versions)
	case TypeRestore:
		return new(Restore)
	case TypeCancel:
		return new(Cancel)
	case TypeFlush:
		return new(Flush)
	case TypeNode:
		return new(Node)
	case TypeNodeList:
		return new(NodeList)
	case TypeDirDigests:
		return new(DirDigests)
	case TypeEntryBatch:
		return new(EntryBatch)
	case TypeChanges:
		return new(Changes)
	case TypeRescan:
		return new(Rescan)
	case TypeChunkList:
		return new(ChunkList)
	case TypePutReady:
		return new(PutReady)
	case TypeDone:
		return new(Done)
	case TypeVersionList:
		return new(VersionList)
	case TypeError:
		return new(Error)
	}
	return nil
}

// appendBody appends the wire form of m's body to b.
func appendBody(b []byte, m Message) ([]byte, error) {
	if d, ok := m.(*Data); ok {
		if len(d.Bytes) > MaxData {
			return nil, fmt.Errorf("encode data: %d bytes, max %d", len(d.Bytes), MaxData)
		}
		b = binary.BigEndian.AppendUint64(b, d.Offset)
		return append(b, d.Bytes...), nil
	}
	enc, err := encMode.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("encode %T: %w", m, err)
	}
	return append(b, enc...), nil
}

// decodeBody decodes a body of type t. A Data message's Bytes alias body.
func decodeBody(t Type, body []byte) (Message, error) {
	m := newMessage(t)
	if m == nil {
		return nil, fmt.Errorf("%w: unknown message type %d", ErrFrame, t)
	}
	if d, ok := m.(*Data); ok {
		if len(body) < 8 || len(body)-8 > MaxData {
			return nil, fmt.Errorf("%w: data body of %d bytes not in [8, %d]", ErrFrame, len(body), 8+MaxData)
		}
		d.Offset = binary.BigEndian.Uint64(body)
		d.Bytes = body[8:]
		return d, nil
	}
	if err := decMode.Unmarshal(body, m); err != nil {
		if errors.Is(err, ErrFrame) {
			return nil, err // our own check inside a custom decoder
		}
		return nil, fmt.Errorf("%w: type %d: %w", ErrFrame, t, err)
	}
	if v, ok := m.(interface{ validate() error }); ok {
		if err := v.validate(); err != nil {
			return nil, err
		}
	}
	return m, nil
}
