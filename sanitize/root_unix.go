//go:build unix

package sanitize

import (
	"os"
	"syscall"
)

const (
	openNonblock = syscall.O_NONBLOCK
)

// clearNonblock puts a file opened with O_NONBLOCK back into blocking mode, so
// that reads of a regular file behave normally.
func clearNonblock(f *os.File) error {
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var serr error
	if err := rc.Control(func(fd uintptr) { serr = syscall.SetNonblock(int(fd), false) }); err != nil {
		return err
	}
	return serr
}
