package sftpd

import (
	"errors"

	"golang.org/x/sys/unix"
)

// statusOf returns the STATUS a request that failed with err answers: the
// v3 code OpenSSH's sftp-server gives the errno (v3 has few codes, so most
// errors are SSH_FX_FAILURE) and the error's text as the message (rootfs's
// errors name client paths only). A nil err is SSH_FX_OK.
func statusOf(id uint32, err error) *Status {
	if err == nil {
		return &Status{ID: id, Code: StatusOK, Message: "Success", Language: "en"}
	}
	code := StatusFailure
	var errno unix.Errno
	if errors.As(err, &errno) {
		switch errno {
		case unix.ENOENT, unix.ENOTDIR, unix.EBADF, unix.ELOOP:
			code = StatusNoSuchFile
		case unix.EPERM, unix.EACCES, unix.EFAULT:
			code = StatusPermissionDenied
		case unix.ENAMETOOLONG, unix.EINVAL:
			code = StatusBadMessage
		case unix.ENOSYS:
			code = StatusOpUnsupported
		}
	}
	return &Status{ID: id, Code: code, Message: err.Error(), Language: "en"}
}
