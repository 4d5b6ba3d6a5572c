package fs

import (
	"context"
	"errors"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/torrentfs/torrentfs/internal/testbytes"
)

// fakeTorrent serves deterministic bytes (testbytes.Bytes(seed+file, len))
// and can be made to read in small chunks, block, or fail.
type fakeTorrent struct {
	files []File
	seed  uint64
	mtime time.Time // zero: no ModTime preference

	chunk    int           // if > 0, at most chunk bytes per ReadAt
	block    chan struct{} // if non-nil, ReadAt waits until it is closed (or ctx ends)
	fail     error         // if non-nil, ReadAt returns it
	shortEOF bool          // if set, files end half-way with io.EOF
	ready    bool          // if set, readers implement ReadyChecker and say ready

	reads   atomic.Int64  // ReadAt calls
	maxLen  atomic.Int64  // largest buffer passed to ReadAt
	waiting atomic.Int64  // ReadAt calls blocked on block
	opened  atomic.Int64  // NewReader calls
	closed  atomic.Int64  // Close calls
	started chan struct{} // if non-nil, gets a value when a ReadAt starts blocking
}

func (t *fakeTorrent) Files() []File { return t.files }

func (t *fakeTorrent) ModTime() time.Time { return t.mtime }

func (t *fakeTorrent) data(file int) []byte {
	return testbytes.Bytes(t.seed+uint64(file), int(t.files[file].Length))
}

func (t *fakeTorrent) NewReader(file int) FileReader {
	t.opened.Add(1)
	r := &fakeReader{t: t, file: file}
	if t.ready {
		return &readyReader{r}
	}
	return r
}

func (t *fakeTorrent) open() int64 { return t.opened.Load() - t.closed.Load() }

type fakeReader struct {
	t      *fakeTorrent
	file   int
	mu     sync.Mutex // guards isShut
	isShut bool
}

type readyReader struct{ *fakeReader }

func (r *readyReader) Ready(off int64, n int) bool { return r.t.block == nil }

func (r *fakeReader) ReadAt(ctx context.Context, p []byte, off int64) (int, error) {
	t := r.t
	t.reads.Add(1)
	for n := int64(len(p)); n > t.maxLen.Load(); {
		if t.maxLen.CompareAndSwap(t.maxLen.Load(), n) {
			break
		}
	}
	r.mu.Lock()
	shut := r.isShut
	r.mu.Unlock()
	if shut {
		return 0, errors.New("fake: ReadAt after Close")
	}
	if t.block != nil {
		t.waiting.Add(1)
		if t.started != nil {
			select {
			case t.started <- struct{}{}:
			default:
			}
		}
		select {
		case <-t.block:
			t.waiting.Add(-1)
		case <-ctx.Done():
			t.waiting.Add(-1)
			return 0, ctx.Err()
		}
	}
	if t.fail != nil {
		return 0, t.fail
	}
	size := t.files[r.file].Length
	if t.shortEOF {
		size /= 2
	}
	if t.chunk > 0 && len(p) > t.chunk {
		p = p[:t.chunk]
	}
	return testbytes.Reader(t.seed+uint64(r.file), size).ReadAt(p, off)
}

func (r *fakeReader) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.isShut {
		return errors.New("fake: closed twice")
	}
	r.isShut = true
	r.t.closed.Add(1)
	return nil
}

var (
	_ Torrent      = (*fakeTorrent)(nil)
	_ ModTimer     = (*fakeTorrent)(nil)
	_ FileReader   = (*fakeReader)(nil)
	_ ReadyChecker = (*readyReader)(nil)
	_ io.Closer    = (*fakeReader)(nil)
)
