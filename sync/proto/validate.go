package proto

import "fmt"

// Type methods tie each message struct to its wire type.
func (*Hello) Type() Type       { return TypeHello }
func (*Welcome) Type() Type     { return TypeWelcome }
func (*Bye) Type() Type         { return TypeBye }
func (*List) Type() Type        { return TypeList }
func (*Stat) Type() Type        { return TypeStat }
func (*Subscribe) Type() Type   { return TypeSubscribe }
func (*Chunks) Type() Type      { return TypeChunks }
func (*Read) Type() Type        { return TypeRead }
func (*Put) Type() Type         { return TypePut }
func (*Copy) Type() Type        { return TypeCopy }
func (*Data) Type() Type        { return TypeData }
func (*Commit) Type() Type      { return TypeCommit }
func (*Delete) Type() Type      { return TypeDelete }
func (*Rename) Type() Type      { return TypeRename }
func (*Mkdir) Type() Type       { return TypeMkdir }
func (*Symlink) Type() Type     { return TypeSymlink }
func (*SetAttr) Type() Type     { return TypeSetAttr }
func (*Versions) Type() Type    { return TypeVersions }
func (*Restore) Type() Type     { return TypeRestore }
func (*Cancel) Type() Type      { return TypeCancel }
func (*Flush) Type() Type       { return TypeFlush }
func (*EntryBatch) Type() Type  { return TypeEntryBatch }
func (*Changes) Type() Type     { return TypeChanges }
func (*Rescan) Type() Type      { return TypeRescan }
func (*ChunkList) Type() Type   { return TypeChunkList }
func (*PutReady) Type() Type    { return TypePutReady }
func (*Done) Type() Type        { return TypeDone }
func (*VersionList) Type() Type { return TypeVersionList }
func (*Error) Type() Type       { return TypeError }

// maxList bounds the short lists of the handshake (versions, capabilities)
// and the length of its strings.
const maxList = 64

// checkPaths checks path lengths; the server still resolves every path
// beneath the user's root, this is only the wire's bound.
func checkPaths(paths ...string) error {
	for _, p := range paths {
		if len(p) > MaxPath {
			return fmt.Errorf("%w: path of %d bytes, max %d", ErrFrame, len(p), MaxPath)
		}
	}
	return nil
}

func checkMode(mode uint32) error {
	if mode&^ModeMask != 0 {
		return fmt.Errorf("%w: mode %#o beyond %#o", ErrFrame, mode, ModeMask)
	}
	return nil
}

func (e *Expect) validate() error {
	if e.Kind > KindSymlink {
		return fmt.Errorf("%w: expected kind %d unknown", ErrFrame, e.Kind)
	}
	return checkPaths(e.Target)
}

func (h *Hello) validate() error {
	if len(h.Versions) > maxList || len(h.Caps) > maxList || len(h.Agent) > MaxPath {
		return fmt.Errorf("%w: hello beyond %d versions or capabilities", ErrFrame, maxList)
	}
	return nil
}

func (w *Welcome) validate() error {
	if len(w.Caps) > maxList || len(w.Agent) > MaxPath {
		return fmt.Errorf("%w: welcome beyond %d capabilities", ErrFrame, maxList)
	}
	return nil
}

func (m *List) validate() error      { return checkPaths(m.Path) }
func (m *Stat) validate() error      { return checkPaths(m.Paths...) }
func (m *Subscribe) validate() error { return checkPaths(m.Path) }
func (m *Chunks) validate() error    { return checkPaths(m.Path) }
func (m *Read) validate() error      { return checkPaths(m.Path) }
func (m *Versions) validate() error  { return checkPaths(m.Path) }
func (m *Commit) validate() error    { return checkMode(m.Mode) }
func (m *Bye) validate() error       { return checkPaths(m.Reason) }
func (m *Rescan) validate() error    { return checkPaths(m.Reason) }

func (m *Put) validate() error {
	if err := m.Expect.validate(); err != nil {
		return err
	}
	return checkPaths(m.Path)
}

func (m *Delete) validate() error {
	if err := m.Expect.validate(); err != nil {
		return err
	}
	return checkPaths(m.Path)
}

func (m *Rename) validate() error {
	if err := m.Expect.validate(); err != nil {
		return err
	}
	if err := m.ExpectTo.validate(); err != nil {
		return err
	}
	return checkPaths(m.From, m.To)
}

func (m *Mkdir) validate() error {
	if err := checkMode(m.Mode); err != nil {
		return err
	}
	return checkPaths(m.Path)
}

func (m *Symlink) validate() error {
	if err := m.Expect.validate(); err != nil {
		return err
	}
	return checkPaths(m.Path, m.Target)
}

func (m *SetAttr) validate() error {
	if err := m.Expect.validate(); err != nil {
		return err
	}
	if err := checkMode(m.Mode); err != nil {
		return err
	}
	return checkPaths(m.Path)
}

func (m *Restore) validate() error {
	if err := m.Expect.validate(); err != nil {
		return err
	}
	return checkPaths(m.Path, m.Version, m.To)
}

func (m *ChunkList) validate() error {
	for _, c := range m.Chunks {
		if c.Size == 0 || c.Size > MaxChunk+sealedOverhead {
			return fmt.Errorf("%w: chunk of %d bytes not in [1, %d]", ErrFrame, c.Size, MaxChunk+sealedOverhead)
		}
	}
	return nil
}

func (m *VersionList) validate() error {
	for _, v := range m.Versions {
		if err := checkPaths(v.ID); err != nil {
			return err
		}
	}
	return nil
}

func (m *Error) validate() error {
	if m.Code == 0 {
		return fmt.Errorf("%w: error without a code", ErrFrame)
	}
	return checkPaths(m.Message)
}
