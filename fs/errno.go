package fs

import (
	"context"
	"errors"
	"syscall"
)

// toErrno maps the error of a failed read to the errno the kernel gets. cause
// is context.Cause of the read's context. See the package documentation.
func toErrno(err, cause error) syscall.Errno {
	var e Errnoer
	if errors.As(err, &e) {
		if n := e.Errno(); n != 0 {
			return n
		}
	}
	if errors.Is(err, ErrUnmounted) || errors.Is(cause, ErrUnmounted) {
		return syscall.EIO
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return syscall.EINTR
	}
	return syscall.EIO
}
