// Package replica keeps an encrypted, content-addressed copy of chosen
// users' trees (or folders of them) in an S3-compatible bucket, and
// restores and verifies it: the server side of disaster recovery. Only
// ciphertext and keyed-hash names leave the server; the layout is in
// FORMAT.md beside this file.
//
// The core is plain Go over the Bucket interface (a run, the manifest,
// restore, verify); the S3 shell (s3.go) is minio-go's client, a
// maintained S3 library that signs SigV4 and uploads large objects in
// parts. The cryptography is sync/seal's, unchanged: chunk records sealed
// and named by ObjectName, the manifest sealed as one sealed file, the
// bucket's key marker seal's folder marker. v7.1.0 of minio-go is used
// because later releases declare golangci-lint as a tool dependency, which
// drags some 200 linter modules into this module's version selection and
// upgrades unrelated dependencies (the TUI's).
package replica
