package dirty

// Stamp names a moment of a Group: its epoch (random, new at every start)
// and a generation of its events. A walk keeps the Stamp it got before it
// began and asks, on the next walk, what changed since.
type Stamp struct {
	Epoch, Gen uint64
}

// DefaultMaxDirs bounds the directories a Book remembers: past it, the book
// forgets them all and raises its floor (each remembered directory costs
// about 100 bytes, and a user can make directories at will).
const DefaultMaxDirs = 1 << 17

// Book is the pure bookkeeping of the oracle: per directory key (a file
// system id and a directory's file handle, opaque), the generation of the
// last event that changed the directory's listing. Everything that
// happened at or before the floor is unknown: a question about a stamp
// older than the floor is answered "all changed". Not safe for concurrent
// use (Group holds a lock around it).
type Book struct {
	epoch, gen, floor uint64
	max               int
	dirs              map[string]uint64
	suspects          map[string]bool // files whose link count changed (see event)
}

// maxSuspects bounds Book.suspects; past it, the book forgets everything.
const maxSuspects = 1 << 14

// NewBook returns an empty book of the given epoch that remembers at most
// max directories (0: DefaultMaxDirs).
func NewBook(epoch uint64, max int) *Book {
	if max <= 0 {
		max = DefaultMaxDirs
	}
	// Generation 1 is the floor: nothing before the book began is known.
	return &Book{epoch: epoch, gen: 1, floor: 1, max: max, dirs: map[string]uint64{},
		suspects: map[string]bool{}}
}

// Touch records that the directory key changed now.
func (b *Book) Touch(key []byte) {
	if _, ok := b.dirs[string(key)]; !ok && len(b.dirs) >= b.max {
		b.Lost()
		return
	}
	b.gen++
	b.dirs[string(key)] = b.gen
}

// Lost records that events were lost (a queue overflow, a read error, an
// event that names no directory): every directory may have changed.
func (b *Book) Lost() {
	b.gen++
	b.floor = b.gen
	clear(b.dirs)
	clear(b.suspects)
}

// Suspect records that the file fid's link count changed: a link made
// (the directories that already named it are not told) or taken away.
func (b *Book) Suspect(fid []byte) {
	if len(b.suspects) >= maxSuspects {
		b.Lost()
	}
	b.suspects[string(fid)] = true
}

// Gone records that the file fid has no name left.
func (b *Book) Gone(fid []byte) { delete(b.suspects, string(fid)) }

// Named records that the file fid was created in a directory: if its
// link count changed before, this is a new link, which other directories'
// listings hold without being told of writes through it: everything
// counts as changed.
func (b *Book) Named(fid []byte) {
	if b.suspects[string(fid)] {
		b.Lost()
	}
}

// Now returns the current stamp: a walk that takes it before it begins
// may trust, next time, what did not change after it.
func (b *Book) Now() Stamp { return Stamp{Epoch: b.epoch, Gen: b.gen} }

// Changed reports, for each directory key, whether it may have changed
// after since: every one when since is of another epoch or older than the
// floor.
func (b *Book) Changed(since Stamp, keys [][]byte) []bool {
	out := make([]bool, len(keys))
	all := since.Epoch != b.epoch || since.Gen < b.floor || since.Gen > b.gen
	for i, k := range keys {
		out[i] = all || b.dirs[string(k)] > since.Gen
	}
	return out
}
