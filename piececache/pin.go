package piececache

// Pins protect pieces a reader is about to read (its readahead window)
// from eviction. They are counted (each Pin needs one Unpin), live in
// memory only and cost no I/O; a piece may be pinned before it is stored.
//
// Eviction passes over pinned pieces as long as unpinned ones remain. Pins
// never take the cache over its limit (the bound is the one stated at
// Options.MaxBytes, pins or not): if the pinned pieces alone exceed the
// level eviction brings Bytes down to (90% of MaxBytes less the measured
// on-disk overhead, and never below half of MaxBytes), the least recently
// used pinned pieces are evicted too. A caller should therefore keep
// PinnedBytes() under Limit()/2, shrinking its readers' windows when it
// would not.

// Pin protects the piece from eviction until the matching Unpin.
func (c *Cache) Pin(ih [20]byte, piece int) {
	if !validPiece(piece) {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.idx.pin(pieceID{ih, uint32(piece)})
}

// Unpin undoes one Pin of the piece; Unpin of a piece not pinned does
// nothing.
func (c *Cache) Unpin(ih [20]byte, piece int) {
	if !validPiece(piece) {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.idx.unpin(pieceID{ih, uint32(piece)})
}

// PinnedBytes is the size (as in Stats.Bytes) of the held pieces that are
// pinned. It takes time proportional to the number of pinned pieces.
func (c *Cache) PinnedBytes() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.idx.pinnedBytes()
}

// Limit is Options.MaxBytes: the bound on Stats().Bytes, 0 for none.
func (c *Cache) Limit() int64 { return max(c.opts.MaxBytes, 0) }
