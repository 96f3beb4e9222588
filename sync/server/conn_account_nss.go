//go:build cgo && !osusergo

package server

/*
#include <errno.h>
#include <pwd.h>
#include <stdlib.h>
*/
import "C"

import (
	"fmt"
	"syscall"
	"unsafe"
)

// lookupPasswdNSS returns name's passwd entry from NSS (getpwnam_r), for
// accounts that /etc/passwd lacks (LDAP, sssd): os/user, which found the
// account, does not tell the shell.
func lookupPasswdNSS(name string) (passwdEntry, bool, error) {
	cname := C.CString(name)
	defer C.free(unsafe.Pointer(cname))
	var pwd C.struct_passwd
	var res *C.struct_passwd
	for size := C.size_t(1024); size <= 1<<20; size *= 2 {
		buf := C.malloc(size)
		rc := C.getpwnam_r(cname, &pwd, (*C.char)(buf), size, &res)
		if rc == C.ERANGE {
			C.free(buf)
			continue
		}
		defer C.free(buf)
		if rc != 0 {
			return passwdEntry{}, false, fmt.Errorf("getpwnam_r: %w", syscall.Errno(rc))
		}
		if res == nil {
			return passwdEntry{}, false, nil
		}
		return passwdEntry{Name: C.GoString(pwd.pw_name), Password: C.GoString(pwd.pw_passwd),
			UID: uint32(pwd.pw_uid), GID: uint32(pwd.pw_gid), Home: C.GoString(pwd.pw_dir),
			Shell: C.GoString(pwd.pw_shell)}, true, nil
	}
	return passwdEntry{}, false, fmt.Errorf("getpwnam_r: %w", syscall.ERANGE)
}
