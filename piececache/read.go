package piececache

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
)

// readAttempts bounds how often ReadAt looks the piece up again after its
// file vanished (replaced or evicted meanwhile).
const readAttempts = 3

// ReadAt copies bytes [off, off+len(p)) of the piece into p, with
// io.ReaderAt semantics at the piece's end: fewer bytes than len(p) come
// with io.EOF, and off at or past the end gives 0, io.EOF.
//
// It returns ErrNotFound if the piece is not held. If the stored piece
// fails its CRC check, ReadAt forgets it and returns an error wrapping
// ErrCorrupt; it never returns bytes that differ from what Put stored.
func (c *Cache) ReadAt(ctx context.Context, ih [20]byte, piece int, p []byte, off int64) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, fmt.Errorf("piececache: read piece %d: %w", piece, err)
	}
	if !validPiece(piece) {
		return 0, ErrNotFound
	}
	if off < 0 {
		return 0, fmt.Errorf("piececache: read piece %d: negative offset %d: %w", piece, off, ErrInvalid)
	}
	if err := c.begin(); err != nil {
		return 0, err
	}
	defer c.ops.Done()

	id := pieceID{ih, uint32(piece)}
	var (
		n   int
		err error
		seq uint64
	)
	for range readAttempts {
		c.mu.Lock()
		held := c.touchLocked(id)
		cur, _ := c.idx.seqOf(id)
		c.mu.Unlock()
		if !held {
			return 0, ErrNotFound
		}
		if seq == cur {
			// Still the file that was missing a moment ago.
			err = errFileMissing(seq)
			break
		}
		seq = cur
		n, err = c.readPieceFile(seq, p, off)
		if !errors.Is(err, fs.ErrNotExist) {
			break
		}
		// Replaced or evicted since the index named it: look again.
	}
	switch {
	case err == nil, err == io.EOF:
		return n, err
	case errors.Is(err, fs.ErrNotExist):
		return 0, ErrNotFound // replaced every time we looked: churn, not damage
	case !errors.Is(err, ErrCorrupt):
		return 0, fmt.Errorf("piececache: read piece %d of %x: %w", piece, ih, err)
	}
	c.log.Warn("piececache: forgetting corrupt piece", "infohash", fmt.Sprintf("%x", ih), "piece", piece, "err", err)
	if ferr := c.submit(ctx, &request{op: opForget, id: id, seq: seq}); ferr != nil {
		c.log.Warn("piececache: could not forget corrupt piece", "infohash", fmt.Sprintf("%x", ih), "piece", piece, "err", ferr)
	}
	return 0, fmt.Errorf("piececache: piece %d of %x: %w", piece, ih, err)
}
