package piececache

import (
	"encoding/binary"
	"errors"

	"github.com/dgraph-io/badger/v4"
)

// limitKey records the MaxBytes of the last Open that set one, so that
// tools opening the cache without a limit (torrentfs cache stats) can
// show it.
var limitKey = []byte{metaPrefix, 'l', 'i', 'm', 'i', 't'}

// saveLimit records a non-zero MaxBytes; a failure only loses a hint.
func (c *Cache) saveLimit() {
	if c.opts.MaxBytes <= 0 || c.SavedLimit() == c.opts.MaxBytes {
		return
	}
	var v [8]byte
	binary.BigEndian.PutUint64(v[:], uint64(c.opts.MaxBytes))
	if err := c.db.Update(func(txn *badger.Txn) error { return txn.Set(limitKey, v[:]) }); err != nil {
		c.log.Debug("piececache: recording the size limit", "err", err)
	}
}

// SavedLimit is the MaxBytes of the last Open of this directory that set
// one, or 0.
func (c *Cache) SavedLimit() int64 {
	var n int64
	err := c.db.View(func(txn *badger.Txn) error {
		item, err := txn.Get(limitKey)
		if err != nil {
			return err
		}
		return item.Value(func(v []byte) error {
			if len(v) == 8 {
				n = int64(binary.BigEndian.Uint64(v) & (1<<63 - 1))
			}
			return nil
		})
	})
	if err != nil && !errors.Is(err, badger.ErrKeyNotFound) {
		return 0
	}
	return n
}
