// Package luks implements the LUKS2 and LUKS1 on-disk formats in pure Go:
// reading both LUKS2 header copies (checksums verified, the secondary used
// when the primary is damaged), JSON metadata that keeps unknown members
// across rewrites, unlocking keyslots (pbkdf2, argon2i, argon2id; keyslot
// encryption aes-xts-plain64 and aes-cbc-essiv), formatting with
// cryptsetup's defaults, keyslot management, header backup and repair,
// cryptsetup-compatible locking, loop devices for image files, and a
// userspace AES-XTS data path over the decrypted payload of an image
// (Payload: io.ReaderAt/io.WriterAt). XTS runs on AES-NI or VAES through
// amd64 assembly when a self-test shows the CPU runs it right, in Go
// otherwise.
//
// The real cryptsetup is the oracle in the tests: headers written here pass
// cryptsetup luksDump and open, and headers cryptsetup writes open here.
// The package imports nothing else from the project but its subpackage dm,
// where the device-mapper ioctls live: Header.CryptTarget computes the
// dm-crypt mapping that opens a volume, once for every caller.
package luks
