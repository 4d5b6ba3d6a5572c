package fetcher

// pinner is a Storage that can keep pieces from being evicted. Readers pin
// the pieces of their current window, so that a piece fetched ahead of a
// read is still there when the read comes. piececache.Cache and Memory
// implement it; a Storage without it simply gets no pins.
type pinner interface {
	Pin(ih [20]byte, piece int)
	Unpin(ih [20]byte, piece int)
	// PinnedBytes is the size of the stored pieces that are pinned.
	PinnedBytes() int64
	// Limit is the store's size limit, 0 for none.
	Limit() int64
}

// windowCapLocked bounds a reader's window so that the windows of all
// readers of the torrent together pin at most half the store's limit, and
// stops windows from growing while pins already hold half of it. It
// returns the largest window and whether windows may grow. Called without
// r.mu held.
func (r *Reader) windowCap() (maxWin int64, grow bool) {
	p := r.t.c.pins
	if p == nil || p.Limit() <= 0 {
		return maxWindow, true
	}
	r.t.mu.Lock()
	readers := int64(max(1, len(r.t.wants)))
	r.t.mu.Unlock()
	half := p.Limit() / 2
	maxWin = max(min(maxWindow, half/readers), r.t.info.PieceLength)
	return maxWin, p.PinnedBytes() <= half
}

// repinLocked makes the reader's pins the pieces [first, end): pins the
// new ones first, then unpins those no longer in the window. Pin and
// Unpin only touch memory. Called with r.mu held.
func (r *Reader) repinLocked(first, end int) {
	p := r.t.c.pins
	if p == nil {
		return
	}
	ih := [20]byte(r.t.ih)
	for i := first; i < end; i++ {
		if i < r.pinFirst || i >= r.pinEnd {
			p.Pin(ih, i)
		}
	}
	for i := r.pinFirst; i < r.pinEnd; i++ {
		if i < first || i >= end {
			p.Unpin(ih, i)
		}
	}
	r.pinFirst, r.pinEnd = first, end
}

// releasePins unpins the reader's window, when it closes or goes idle.
func (r *Reader) releasePins() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.repinLocked(0, 0)
}
