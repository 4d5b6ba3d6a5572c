package piececache

import (
	"container/list"
	"slices"
)

// pieceID names one piece.
type pieceID struct {
	ih    [20]byte
	piece uint32
}

// indexEntry is what the index knows about one held piece.
type indexEntry struct {
	size int64         // bytes this piece accounts for in Stats.Bytes
	elem *list.Element // its place in index.lru; Value is a pieceID
}

// index is the in-memory record of which pieces a store holds, their sizes
// and their order of last use. It does no I/O and no locking: its owner
// guards it with a mutex.
type index struct {
	torrents map[[20]byte]map[uint32]*indexEntry
	lru      *list.List // front = most recently used
	pieces   int
	bytes    int64
}

func newIndex() *index {
	return &index{torrents: map[[20]byte]map[uint32]*indexEntry{}, lru: list.New()}
}

func (x *index) has(id pieceID) bool {
	_, ok := x.torrents[id.ih][id.piece]
	return ok
}

// add records id with size bytes as most recently used, replacing any
// earlier record of it; it returns the size of that earlier record, or 0.
func (x *index) add(id pieceID, size int64) (replaced int64) {
	t := x.torrents[id.ih]
	if t == nil {
		t = map[uint32]*indexEntry{}
		x.torrents[id.ih] = t
	}
	if e, ok := t[id.piece]; ok {
		replaced = e.size
		x.bytes += size - e.size
		e.size = size
		x.lru.MoveToFront(e.elem)
		return replaced
	}
	t[id.piece] = &indexEntry{size: size, elem: x.lru.PushFront(id)}
	x.pieces++
	x.bytes += size
	return 0
}

// touch marks id as just used; it reports whether id is held.
func (x *index) touch(id pieceID) bool {
	e, ok := x.torrents[id.ih][id.piece]
	if ok {
		x.lru.MoveToFront(e.elem)
	}
	return ok
}

// remove forgets id and returns the size it accounted for.
func (x *index) remove(id pieceID) int64 {
	t := x.torrents[id.ih]
	e, ok := t[id.piece]
	if !ok {
		return 0
	}
	x.lru.Remove(e.elem)
	delete(t, id.piece)
	if len(t) == 0 {
		delete(x.torrents, id.ih)
	}
	x.pieces--
	x.bytes -= e.size
	return e.size
}

// oldest returns the least recently used piece.
func (x *index) oldest() (pieceID, bool) {
	e := x.lru.Back()
	if e == nil {
		return pieceID{}, false
	}
	return e.Value.(pieceID), true
}

// list returns ih's pieces in increasing order.
func (x *index) list(ih [20]byte) []int {
	t := x.torrents[ih]
	out := make([]int, 0, len(t))
	for p := range t {
		out = append(out, int(p))
	}
	slices.Sort(out)
	return out
}

func (x *index) stats() Stats {
	return Stats{Pieces: x.pieces, Bytes: x.bytes, Torrents: len(x.torrents)}
}

// Stats describes what a store holds.
type Stats struct {
	Pieces   int
	Bytes    int64 // Cache: bytes the held pieces take in Badger's value log (key, header and CRCs included); Memory: piece bytes
	Torrents int
}
