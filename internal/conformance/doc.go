// Package conformance reads the results of third-party conformance suites
// and compares two runs of them case by case: ours against a reference
// implementation run the same way.
//
// It is the pure half of the conformance harness (sync/server's
// conformance_test.go, build tag conformance), which runs pjdfstest and
// sshfs's own pytest suite on sshfs mounts of simplecloud serve and of
// OpenSSH's sftp-server side by side. Here are only plain functions over
// the suites' output: ParseProve reads the verbose TAP that `prove -v`
// prints for pjdfstest, ParseJUnit reads pytest's junit XML, and Compare
// turns two result sets into a side-by-side table and the list of cases the
// reference passes and ours does not.
package conformance
