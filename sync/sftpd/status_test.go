package sftpd

import (
	"errors"
	"fmt"
	"os"
	"testing"

	"golang.org/x/sys/unix"
)

func TestStatusOf(t *testing.T) {
	tests := []struct {
		err  error
		want uint32
	}{
		{nil, StatusOK},
		{&os.PathError{Op: "open", Path: "/x", Err: unix.ENOENT}, StatusNoSuchFile},
		{fmt.Errorf("stat: %w", unix.ELOOP), StatusNoSuchFile},
		{&os.PathError{Op: "open", Path: "/x", Err: unix.EACCES}, StatusPermissionDenied},
		{unix.EPERM, StatusPermissionDenied},
		{unix.EINVAL, StatusBadMessage},
		{unix.ENOSYS, StatusOpUnsupported},
		{unix.ENOSPC, StatusFailure},
		{errTooManyHandles, StatusFailure},
		{errors.New("other"), StatusFailure},
	}
	for _, tt := range tests {
		got := statusOf(9, tt.err)
		if got.ID != 9 || got.Code != tt.want {
			t.Errorf("statusOf(%v): got id %d code %d, want id 9 code %d", tt.err, got.ID, got.Code, tt.want)
		}
	}
}
