// Package luks will hold the LUKS2 and LUKS1 on-disk formats: header parsing
// and writing, keyslots, key derivation functions, the anti-forensic splitter
// and a userspace XTS data path, all as pure code over io.ReaderAt and
// io.WriterAt. It imports nothing else from the project.
package luks
