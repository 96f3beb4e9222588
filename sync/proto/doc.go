// Package proto is the sync wire protocol (PROTOCOL.md): framing, message
// types, the versioned handshake, content-defined chunking and the file
// hash defined from chunks. It does no I/O beyond the stream it is given
// and imports nothing else from the project; sync/server and sync/client
// convert its Entry to sync/core's types.
//
// Encoding: CBOR (RFC 8949) through github.com/fxamacker/cbor/v2, chosen
// over three others measured on the same snapshot entry. msgpack/v5 and
// tinylib/msgp's generated code both died with a fatal, unrecoverable
// out-of-memory on a 7-byte input claiming 2^31 array elements (msgp only
// survives with an opt-in, per-file limit directive); fxamacker/cbor checks
// that the input is well-formed before it allocates, so no length can
// exceed the frame, and caps arrays, maps and nesting. protobuf is as safe
// but adds 2.6 MB to a static binary (cbor 0.8 MB), 141 allocations at init
// (cbor 13) and a protoc step to the build. CBOR is a standard with
// decoders in every language, and maps with integer keys give protobuf's
// evolution rule (unknown keys are skipped); only Entry, Expect and
// ChunkRef are arrays, for compactness (61.6 bytes per snapshot entry with
// its hash). Data frames are raw bytes after an offset, not CBOR.
//
// Chunking is our own FastCDC rather than a library's, because chunk
// boundaries are part of the wire contract and must be specified exactly
// and keyable: github.com/jotfs/fastcdc-go's Seed XORs its package-global
// gear table on every NewChunker (a data race; two seeded chunkers cancel)
// and its low-bit masks leave only about 20 bits of the seed effective;
// github.com/restic/chunker is keyed properly but cut at 257 MB/s here
// against 2.2 GB/s for this one.
package proto
