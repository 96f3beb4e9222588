// Package wipe will hold the wipe engine for block devices and image files:
// zero, random (AES-CTR keystream), discard and zeroout modes, with progress,
// verification, cancellation and resume.
package wipe
