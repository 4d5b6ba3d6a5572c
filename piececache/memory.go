package piececache

import (
	"context"
	"fmt"
	"sync"
)

// Memory is an in-memory store with the same semantics as Cache, for tests
// of the packages that use one. The zero value is not usable; call
// NewMemory or NewMemoryLimit.
type Memory struct {
	limit int64 // 0: none

	mu     sync.Mutex // guards everything below
	pieces map[pieceID][]byte
	idx    *index
	closed bool
}

// NewMemory returns an empty Memory with no size limit.
func NewMemory() *Memory { return NewMemoryLimit(0) }

// NewMemoryLimit returns an empty Memory that, like a Cache with
// Options.MaxBytes, evicts least recently used (unpinned first) pieces
// down to 90% of maxBytes once a Put takes it over maxBytes. Bytes count
// piece bytes only.
func NewMemoryLimit(maxBytes int64) *Memory {
	return &Memory{limit: max(maxBytes, 0), pieces: map[pieceID][]byte{}, idx: newIndex()}
}

// Put stores a copy of data as piece of the torrent ih, replacing any
// earlier copy.
func (m *Memory) Put(ctx context.Context, ih [20]byte, piece int, data []byte) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("piececache: put piece %d: %w", piece, err)
	}
	if err := validatePut(piece, data); err != nil {
		return err
	}
	id := pieceID{ih, uint32(piece)}
	buf := append([]byte(nil), data...)
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return ErrClosed
	}
	m.pieces[id] = buf
	m.idx.add(id, int64(len(buf)))
	if m.limit > 0 && m.idx.bytes > m.limit {
		victims, _ := m.idx.evictTo(lowWater(m.limit))
		for _, v := range victims {
			delete(m.pieces, v.id)
		}
	}
	return nil
}

// DeletePiece forgets one piece.
func (m *Memory) DeletePiece(ctx context.Context, ih [20]byte, piece int) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("piececache: delete piece %d: %w", piece, err)
	}
	if !validPiece(piece) {
		return nil
	}
	id := pieceID{ih, uint32(piece)}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return ErrClosed
	}
	m.idx.remove(id)
	delete(m.pieces, id)
	return nil
}

// DeleteTorrent forgets every piece of ih.
func (m *Memory) DeleteTorrent(ctx context.Context, ih [20]byte) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("piececache: delete torrent: %w", err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return ErrClosed
	}
	for _, p := range m.idx.list(ih) {
		id := pieceID{ih, uint32(p)}
		m.idx.remove(id)
		delete(m.pieces, id)
	}
	return nil
}

// Pin protects the piece from eviction until the matching Unpin (see
// Cache.Pin).
func (m *Memory) Pin(ih [20]byte, piece int) {
	if validPiece(piece) {
		m.mu.Lock()
		m.idx.pin(pieceID{ih, uint32(piece)})
		m.mu.Unlock()
	}
}

// Unpin undoes one Pin.
func (m *Memory) Unpin(ih [20]byte, piece int) {
	if validPiece(piece) {
		m.mu.Lock()
		m.idx.unpin(pieceID{ih, uint32(piece)})
		m.mu.Unlock()
	}
}

// PinnedBytes is the size of the held pieces that are pinned.
func (m *Memory) PinnedBytes() int64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.idx.pinnedBytes()
}

// Limit is the size limit, 0 for none.
func (m *Memory) Limit() int64 { return m.limit }

// Torrents reports what is held of each torrent, in info-hash order.
func (m *Memory) Torrents() []TorrentStats {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.idx.torrentStats()
}

// ReadAt copies bytes [off, off+len(p)) of the piece into p, with
// io.ReaderAt semantics at the piece's end. It returns ErrNotFound if the
// piece is not held.
func (m *Memory) ReadAt(ctx context.Context, ih [20]byte, piece int, p []byte, off int64) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, fmt.Errorf("piececache: read piece %d: %w", piece, err)
	}
	if !validPiece(piece) {
		return 0, ErrNotFound
	}
	if off < 0 {
		return 0, fmt.Errorf("piececache: read piece %d: negative offset %d: %w", piece, off, ErrInvalid)
	}
	id := pieceID{ih, uint32(piece)}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return 0, ErrClosed
	}
	data, ok := m.pieces[id]
	if !ok {
		return 0, ErrNotFound
	}
	m.idx.touch(id)
	n, err := pieceRange(len(data), len(p), off)
	if n > 0 {
		copy(p[:n], data[off:])
	}
	return n, err
}

// Has reports whether the piece is held.
func (m *Memory) Has(ih [20]byte, piece int) bool {
	if !validPiece(piece) {
		return false
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	return !m.closed && m.idx.has(pieceID{ih, uint32(piece)})
}

// Pieces returns the indexes of ih's held pieces in increasing order.
func (m *Memory) Pieces(ctx context.Context, ih [20]byte) ([]int, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("piececache: pieces: %w", err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return nil, ErrClosed
	}
	return m.idx.list(ih), nil
}

// Stats reports what is held.
func (m *Memory) Stats() Stats {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.idx.stats()
}

// Close drops every piece. Later calls fail with ErrClosed.
func (m *Memory) Close() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.closed = true
	m.pieces = nil
	m.idx = newIndex()
	return nil
}
