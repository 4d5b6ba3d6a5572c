package piececache

import (
	"encoding/binary"
)

// Use order survives a restart roughly: each piece has a use stamp, the
// Unix second of its last Put or ReadAt, kept in the index and persisted
// under its own small key (stampKey). Put writes the stamp in the same
// transaction as the piece; ReadAt only marks the piece dirty, in memory,
// and the writer persists dirty stamps in one batch every
// stampFlushInterval and at Close. Open orders the pieces by stamp, so a
// restart keeps the order to within a second, except for uses in the
// last stampFlushInterval before a crash.

// touch marks id as just used; it reports whether id is held. The caller
// holds c.mu.
func (c *Cache) touchLocked(id pieceID) bool {
	if !c.idx.touch(id) {
		return false
	}
	if stamp := uint32(c.now().Unix()); c.idx.setStamp(id, stamp) {
		c.dirty[id] = stamp
	}
	return true
}

// flushStamps persists the dirty stamps of pieces still held. It runs on
// the writer goroutine, which is also the only one that removes pieces, so
// no stamp is written for a piece removed meanwhile.
func (c *Cache) flushStamps() {
	c.mu.Lock()
	if len(c.dirty) == 0 {
		c.mu.Unlock()
		return
	}
	dirty := c.dirty
	c.dirty = map[pieceID]uint32{}
	for id := range dirty {
		if !c.idx.has(id) {
			delete(dirty, id)
		}
	}
	c.mu.Unlock()

	txn := newSplitTxn(c.db)
	defer txn.discard()
	for id, stamp := range dirty {
		var v [4]byte
		binary.BigEndian.PutUint32(v[:], stamp)
		if err := txn.set(stampKey(id.ih, id.piece), v[:]); err != nil {
			c.log.Debug("piececache: persisting use stamps", "err", err)
			return // they are only a hint; the next flush or Put writes newer ones
		}
	}
	if err := txn.commit(); err != nil {
		c.log.Debug("piececache: persisting use stamps", "err", err)
	}
}
