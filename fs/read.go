package fs

import (
	"context"
	"syscall"
)

// read fills p from h's reader at off. Every read gets a context derived
// from the request's, registered so that shutdown can cancel it. Reads that
// may block take a slot of s.blocked first (see Options.MaxBlockedReads).
func (s *Server) read(ctx context.Context, h *handle, p []byte, off int64) syscall.Errno {
	rctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	id, ok := s.reg.startRead(cancel)
	if !ok {
		return syscall.EIO
	}
	defer s.reg.endRead(id)

	ready := false
	if rc, ok := h.r.(ReadyChecker); ok {
		ready = rc.Ready(off, len(p))
	}
	if !ready {
		select {
		case s.blocked <- struct{}{}:
			defer func() { <-s.blocked }()
		case <-rctx.Done():
			return s.failed(rctx, h, off, len(p), context.Cause(rctx))
		}
	}
	if err := fill(rctx, h.r, p, off); err != nil {
		return s.failed(rctx, h, off, len(p), err)
	}
	return 0
}

func (s *Server) failed(rctx context.Context, h *handle, off int64, n int, err error) syscall.Errno {
	errno := toErrno(err, context.Cause(rctx))
	s.log.Debug("fs: read failed", "path", h.path, "off", off, "len", n, "err", err, "errno", errno)
	return errno
}
