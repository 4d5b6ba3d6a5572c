package fs

import (
	"context"
	"errors"
	"syscall"
	"time"
)

// probeTimeout is how long a read of a reader without ReadyChecker may
// run before it counts as blocked and must take a slot of s.blocked.
const probeTimeout = 20 * time.Millisecond

// errProbeExpired is the cause of a probe context that ran out.
var errProbeExpired = errors.New("fs: read is blocking")

// read fills p from h's reader at off. Every read gets a context derived
// from the request's, registered so that shutdown can cancel it.
//
// Bounding blocked reads: reads of data already present run at once. A
// read that may block must hold one of MaxBlockedReads slots while it waits
// inside ReadAt. If the reader implements ReadyChecker, its answer decides;
// otherwise the read first runs for up to probeTimeout without a slot
// (present data is served in that time) and, if it has not finished, is
// cancelled and continued from where it stopped once it holds a slot. This
// relies on FileReader keeping shared piece fetches going when one
// waiter's ctx ends.
func (s *Server) read(ctx context.Context, h *handle, p []byte, off int64) syscall.Errno {
	rctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	id, ok := s.reg.startRead(cancel)
	if !ok {
		return syscall.EIO
	}
	defer s.reg.endRead(id)

	done := 0
	if rc, ok := h.r.(ReadyChecker); !ok {
		pctx, pcancel := context.WithTimeoutCause(rctx, probeTimeout, errProbeExpired)
		n, err := fill(pctx, h.r, p, off)
		probeExpired := errors.Is(context.Cause(pctx), errProbeExpired)
		pcancel()
		if err == nil {
			return 0
		}
		if !probeExpired || rctx.Err() != nil {
			return s.failed(rctx, h, off, len(p), err)
		}
		done = n
	} else if rc.Ready(off, len(p)) {
		if _, err := fill(rctx, h.r, p, off); err != nil {
			return s.failed(rctx, h, off, len(p), err)
		}
		return 0
	}

	select {
	case s.blocked <- struct{}{}:
		defer func() { <-s.blocked }()
	case <-rctx.Done():
		return s.failed(rctx, h, off, len(p), context.Cause(rctx))
	}
	if _, err := fill(rctx, h.r, p[done:], off+int64(done)); err != nil {
		return s.failed(rctx, h, off, len(p), err)
	}
	return 0
}

func (s *Server) failed(rctx context.Context, h *handle, off int64, n int, err error) syscall.Errno {
	errno := toErrno(err, context.Cause(rctx))
	s.log.Debug("fs: read failed", "path", h.path, "off", off, "len", n, "err", err, "errno", errno)
	return errno
}
