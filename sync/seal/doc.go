// Package seal is the cryptographic core of zero-knowledge folders: a
// folder key and what is derived from it, deterministic encryption of path
// components, and sealed files (content-defined chunks, each encrypted and
// named by a keyed hash, closed by a MAC'd end record). It is pure: it
// reads and writes io.Reader and io.Writer and imports nothing of the
// project, so the sync client and the S3 replica can both use it. The
// format is in FORMAT.md beside this file.
//
// Names use AES-SIV (RFC 5297), a misuse-resistant deterministic AEAD, from
// Tink (github.com/tink-crypto/tink-go/v2/daead/subtle): Google's
// maintained cryptography library, audited and tested against the RFC's
// and Wycheproof's vectors. The two smaller AES-SIV libraries
// (secure-io/siv-go, miscreant.go) are unmaintained and not served by this
// machine's module proxy; the standard library has no SIV. Only the daead
// subtle package is linked (it needs nothing but Tink's AES-CMAC).
//
// Contents use XChaCha20-Poly1305 (golang.org/x/crypto/chacha20poly1305)
// with a synthetic nonce: each chunk's nonce is the first 24 bytes of its
// id, HMAC-SHA-256 of the plaintext under a separate key, so a chunk
// seals to the same bytes wherever it occurs (dedup and delta transfer
// work on ciphertext) and two different chunks never share a nonce. Sub-keys
// come from the folder key by HKDF-SHA-256 (crypto/hkdf of the standard
// library, the same construction as golang.org/x/crypto/hkdf).
package seal
