package piececache

import (
	"context"
	"errors"
	"fmt"

	"github.com/dgraph-io/badger/v4"
)

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
	if err := c.begin(); err != nil {
		return 0, err
	}
	defer c.ops.Done()

	id := pieceID{ih, uint32(piece)}
	c.mu.Lock()
	held := c.idx.touch(id)
	c.mu.Unlock()
	if !held {
		return 0, ErrNotFound
	}

	var (
		n       int
		rerr    error
		version uint64
		found   bool
	)
	err := c.db.View(func(txn *badger.Txn) error {
		item, err := txn.Get(pieceKey(ih, id.piece))
		if err != nil {
			return err
		}
		version, found = item.Version(), true
		// Copy only the requested range, inside the callback: v is valid
		// only here, and a piece may be megabytes.
		return item.Value(func(v []byte) error {
			n, rerr = readValue(v, p, off)
			return nil
		})
	})
	switch {
	case errors.Is(err, badger.ErrKeyNotFound):
		return 0, ErrNotFound // evicted or forgotten since the index said so
	case err != nil && !found:
		return 0, fmt.Errorf("piececache: read piece %d of %x: %w", piece, ih, err)
	case err != nil:
		// Badger holds the key but cannot give back its value (a damaged
		// value log): as good as corrupt, for a cache.
		rerr = fmt.Errorf("value unreadable: %w (%w)", err, ErrCorrupt)
		fallthrough
	case errors.Is(rerr, ErrCorrupt):
		c.log.Warn("piececache: forgetting corrupt piece", "infohash", fmt.Sprintf("%x", ih), "piece", piece, "err", rerr)
		if ferr := c.submit(ctx, &request{op: opForget, id: id, version: version}); ferr != nil {
			c.log.Warn("piececache: could not forget corrupt piece", "infohash", fmt.Sprintf("%x", ih), "piece", piece, "err", ferr)
		}
		return 0, fmt.Errorf("piececache: piece %d of %x: %w", piece, ih, rerr)
	}
	return n, rerr
}
