package fetcher

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/torrentfs/torrentfs/metainfo"
)

const (
	// initialWindow is how far a new or just-seeked reader reads ahead.
	initialWindow = 1 << 20
	// maxWindow bounds any reader's readahead.
	maxWindow = 64 << 20
	// seqSlack: a read this far behind the last one is still sequential
	// (the kernel's readahead arrives out of order and in parallel).
	seqSlack = 4 << 20
	// assumedRate orders readahead before a reader's rate is known.
	assumedRate = 8 << 20
)

// Reader reads one file of a torrent. Reads block until their pieces are
// verified. It keeps its position across reads so that a sequential reader
// gets a growing readahead window. It is safe for concurrent use.
type Reader struct {
	t       *Torrent
	file    metainfo.File
	timeout time.Duration

	mu      sync.Mutex // guards the fields below
	lastEnd int64      // end of the furthest read of the current run, in the torrent
	window  int64
	rate    float64 // bytes per second the reader consumes, smoothed
	lastAt  time.Time
	closed  bool
	// pinFirst and pinEnd are the pieces [pinFirst, pinEnd) this reader
	// holds pinned in a store that supports pins.
	pinFirst, pinEnd int

	// probe is the key under which the media head and tail are wanted,
	// apart from the reader's window so that its first read does not
	// replace them. They are dropped when idle, like any reader's wants.
	probe *Reader
}

// NewReader returns a reader of file f (an index into Info.Files). For a
// media file, unless Options.NoMediaProbe, its head and tail are wanted at
// once: players probe them before anything else.
func (t *Torrent) NewReader(f int) *Reader {
	r := &Reader{t: t, file: t.info.Files[f], timeout: t.c.opts.ReadTimeout, window: initialWindow}
	if !t.c.opts.NoMediaProbe && isMedia(r.file.Path) && r.file.Length > 0 {
		r.probe = &Reader{}
		t.setWants(r.probe, r.probeWants(time.Now()))
	}
	return r
}

// Size is the file's length.
func (r *Reader) Size() int64 { return r.file.Length }

// ReadAt reads len(p) bytes at file offset off, or up to the file's end
// (then with io.EOF). It returns only bytes of verified pieces.
func (r *Reader) ReadAt(ctx context.Context, p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, fmt.Errorf("fetcher: read at negative offset %d", off)
	}
	if off >= r.file.Length {
		return 0, io.EOF
	}
	n := int(min(int64(len(p)), r.file.Length-off))
	start := r.file.Offset + off
	if err := r.plan(start, n); err != nil {
		return 0, err
	}
	if r.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeoutCause(ctx, r.timeout, ErrReadTimeout)
		defer cancel()
	}
	info := r.t.info
	for done := 0; done < n; {
		pos := start + int64(done)
		piece := info.PieceAt(pos)
		poff := pos - info.PieceOffset(piece)
		m := int(min(int64(n-done), info.PieceSize(piece)-poff))
		if err := r.t.readPiece(ctx, piece, p[done:done+m], poff); err != nil {
			if errors.Is(context.Cause(ctx), ErrReadTimeout) {
				err = fmt.Errorf("%w: piece %d after %s", ErrReadTimeout, piece, r.timeout)
			}
			return done, err
		}
		done += m
	}
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

// plan updates the reader's window for a read of n bytes at torrent offset
// start, and tells the torrent which pieces it wants by when.
func (r *Reader) plan(start int64, n int) error {
	now := time.Now()
	maxWin, grow := r.windowCap()
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return ErrClosed
	}
	end := start + int64(n)
	if r.lastAt.IsZero() || start < r.lastEnd-seqSlack || start > r.lastEnd+r.window {
		r.window = initialWindow // a seek
		r.lastEnd = end
	} else {
		if dt := now.Sub(r.lastAt).Seconds(); dt > 0 && end > r.lastEnd {
			inst := float64(end-r.lastEnd) / dt
			r.rate = 0.8*r.rate + 0.2*inst
		}
		if grow {
			r.window *= 2
		}
		r.lastEnd = max(r.lastEnd, end)
	}
	r.window = min(r.window, maxWin)
	r.lastAt = now
	rate := max(r.rate, assumedRate)
	// The window, counted from the read's start, is what the reader pins:
	// never more than maxWin.
	windowEnd := min(r.lastEnd+r.window, start+maxWin, r.t.info.TotalLength)
	info := r.t.info
	first, last := info.PieceAt(start), info.PieceAt(end-1)
	stop := info.PieceAt(windowEnd - 1)
	r.repinLocked(first, stop+1)
	r.mu.Unlock()

	ws := make([]want, 0, stop-first+1)
	for i := first; i <= stop; i++ {
		d := now
		if i > last {
			ahead := float64(info.PieceOffset(i) - end)
			d = now.Add(time.Duration(ahead / rate * float64(time.Second)))
		}
		ws = append(ws, want{piece: i, deadline: d})
	}
	r.t.setWants(r, ws)
	return nil
}

// Close forgets the reader's wants.
func (r *Reader) Close() error {
	r.mu.Lock()
	r.closed = true
	r.repinLocked(0, 0)
	r.mu.Unlock()
	r.t.setWants(r, nil)
	if r.probe != nil {
		r.t.setWants(r.probe, nil)
	}
	return nil
}

// readPiece waits until piece i is verified and copies p from offset off.
func (t *Torrent) readPiece(ctx context.Context, i int, p []byte, off int64) error {
	for attempt := 0; ; attempt++ {
		if err := t.waitPiece(ctx, i); err != nil {
			return err
		}
		err := t.readVerified(ctx, i, p, off)
		if err == nil {
			return nil
		}
		if attempt >= 2 || ctx.Err() != nil {
			return fmt.Errorf("fetcher: reading piece %d: %w", i, err)
		}
	}
}

// readVerified copies from a verified piece held in memory or storage. If
// storage no longer has it, the piece is marked missing so it is fetched
// again.
func (t *Torrent) readVerified(ctx context.Context, i int, p []byte, off int64) error {
	t.mu.Lock()
	buf, ok := t.unstored[i]
	if !ok {
		buf, ok = t.memPieces[i]
	}
	if ok {
		copy(p, buf[off:])
		t.mu.Unlock()
		return nil
	}
	t.mu.Unlock()
	n, err := t.storage.ReadAt(ctx, t.ih, i, p, off)
	if err == nil || (errors.Is(err, io.EOF) && n == len(p)) {
		return nil
	}
	if !t.storage.Has(t.ih, i) {
		t.mu.Lock()
		if t.have.Has(i) && t.memPieces[i] == nil && t.unstored[i] == nil {
			t.have.Clear(i)
			t.haveCount--
		}
		t.mu.Unlock()
	}
	return err
}

// waitPiece blocks until piece i is verified, ctx ends or the client closes.
func (t *Torrent) waitPiece(ctx context.Context, i int) error {
	t.mu.Lock()
	if t.have.Has(i) {
		t.mu.Unlock()
		return nil
	}
	now := time.Now()
	ch := t.addWaiterLocked(i, now)
	if t.wantDirty {
		t.fillAllLocked(now)
	}
	t.mu.Unlock()
	var err error
	select {
	case <-ch:
		return nil
	case <-ctx.Done():
		err = context.Cause(ctx)
	case <-t.c.done:
		err = ErrClosed
	}
	t.mu.Lock()
	t.dropWaiterLocked(i)
	t.mu.Unlock()
	return err
}

// Ready reports, without blocking, whether a read of n bytes at file
// offset off would be served at once: every piece under it is verified.
func (r *Reader) Ready(off int64, n int) bool {
	if off < 0 || n <= 0 || off >= r.file.Length {
		return true
	}
	end := min(off+int64(n), r.file.Length)
	info := r.t.info
	first, last := info.PieceAt(r.file.Offset+off), info.PieceAt(r.file.Offset+end-1)
	r.t.mu.Lock()
	defer r.t.mu.Unlock()
	for i := first; i <= last; i++ {
		if !r.t.have.Has(i) {
			return false
		}
	}
	return true
}
