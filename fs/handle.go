package fs

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"syscall"

	gofs "github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"
)

// handle is one open file: it owns one FileReader.
type handle struct {
	srv    *Server
	r      FileReader
	length int64
	path   string

	closeOnce sync.Once
}

var (
	_ gofs.FileReader   = (*handle)(nil)
	_ gofs.FileReleaser = (*handle)(nil)
)

// Read fills dest completely up to the end of the file, or fails: in
// page-cache mode a short reply would become zeros.
func (h *handle) Read(ctx context.Context, dest []byte, off int64) (fuse.ReadResult, syscall.Errno) {
	if off < 0 {
		return nil, syscall.EINVAL
	}
	if off >= h.length {
		return fuse.ReadResultData(nil), 0
	}
	want := int64(len(dest))
	if rem := h.length - off; want > rem {
		want = rem
	}
	buf := dest[:want]
	if errno := h.srv.read(ctx, h, buf, off); errno != 0 {
		return nil, errno
	}
	return fuse.ReadResultData(buf), 0
}

// Release closes the reader when the kernel drops the last reference.
func (h *handle) Release(ctx context.Context) syscall.Errno {
	h.srv.reg.removeHandle(h)
	h.close()
	return 0
}

func (h *handle) close() {
	h.closeOnce.Do(func() {
		if err := h.r.Close(); err != nil {
			h.srv.log.Debug("fs: closing reader", "path", h.path, "err", err)
		}
	})
}

// maxZeroReads is how many (0, nil) answers in a row fill accepts before
// it gives up with io.ErrNoProgress.
const maxZeroReads = 100

// fill reads exactly len(p) bytes at off, calling ReadAt as often as needed,
// and returns how many bytes it filled. An io.EOF before p is full is an
// error (the file is shorter than its stated length).
func fill(ctx context.Context, r FileReader, p []byte, off int64) (int, error) {
	zeros := 0
	n := 0
	for n < len(p) {
		m, err := r.ReadAt(ctx, p[n:], off+int64(n))
		if m < 0 || m > len(p)-n {
			return n, fmt.Errorf("fs: reader returned %d bytes for a %d-byte buffer", m, len(p)-n)
		}
		n += m
		switch {
		case err == nil:
		case errors.Is(err, io.EOF) && n == len(p):
			return n, nil
		case errors.Is(err, io.EOF):
			return n, fmt.Errorf("fs: file ended at offset %d, before its stated length: %w", off+int64(n), io.ErrUnexpectedEOF)
		default:
			return n, err
		}
		if m == 0 {
			if zeros++; zeros >= maxZeroReads {
				return n, fmt.Errorf("fs: reader at offset %d: %w", off+int64(n), io.ErrNoProgress)
			}
			if err := ctx.Err(); err != nil {
				return n, err
			}
		} else {
			zeros = 0
		}
	}
	return n, nil
}
