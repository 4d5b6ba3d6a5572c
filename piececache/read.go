package piececache

import (
	"context"
	"errors"
	"fmt"

	"github.com/dgraph-io/badger/v4"
)

// readAttempts bounds how often ReadAt retries a value Badger could not
// give back (see readOnce).
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
	c.mu.Lock()
	held := c.touchLocked(id)
	c.mu.Unlock()
	if !held {
		return 0, ErrNotFound
	}

	var (
		n       int
		rerr    error
		version uint64
		err     error
	)
	for range readAttempts {
		n, rerr, version, err = c.readOnce(id, p, off)
		if !errors.Is(err, errUnreadable) {
			break
		}
	}
	switch {
	case errors.Is(err, badger.ErrKeyNotFound):
		return 0, ErrNotFound // evicted or forgotten since the index said so
	case errors.Is(err, errUnreadable):
		// Badger holds the key but cannot give back its value, every time:
		// a damaged value log. As good as corrupt, for a cache.
		rerr = fmt.Errorf("%w: %w", err, ErrCorrupt)
	case err != nil:
		return 0, fmt.Errorf("piececache: read piece %d of %x: %w", piece, ih, err)
	}
	if errors.Is(rerr, ErrCorrupt) {
		c.log.Warn("piececache: forgetting corrupt piece", "infohash", fmt.Sprintf("%x", ih), "piece", piece, "err", rerr)
		if ferr := c.submit(ctx, &request{op: opForget, id: id, version: version}); ferr != nil {
			c.log.Warn("piececache: could not forget corrupt piece", "infohash", fmt.Sprintf("%x", ih), "piece", piece, "err", ferr)
		}
		return 0, fmt.Errorf("piececache: piece %d of %x: %w", piece, ih, rerr)
	}
	c.noteTouched(n)
	return n, rerr
}

// errUnreadable means Badger found the key but gave back no value. Badger
// does that (logging an error) when it cannot read the value log; it also
// happens, transiently, when a read races with value-log GC moving the
// value and deleting its old file, or with eviction. A fresh transaction
// then sees the moved value, or no key at all.
var errUnreadable = errors.New("piececache: value log entry unreadable")

// readOnce reads the range in one Badger transaction. n and rerr are
// readValue's results; err is a Badger error, or errUnreadable.
func (c *Cache) readOnce(id pieceID, p []byte, off int64) (n int, rerr error, version uint64, err error) {
	err = c.db.View(func(txn *badger.Txn) error {
		item, err := txn.Get(pieceKey(id.ih, id.piece))
		if err != nil {
			return err
		}
		version = item.Version()
		// Copy only the requested range, inside the callback: v is valid
		// only here, and a piece may be megabytes.
		err = item.Value(func(v []byte) error {
			if len(v) == 0 { // Put never stores an empty value
				return errUnreadable
			}
			n, rerr = readValue(v, p, off)
			return nil
		})
		if err != nil && !errors.Is(err, errUnreadable) {
			return fmt.Errorf("%w: %w", errUnreadable, err)
		}
		return err
	})
	return n, rerr, version, err
}
