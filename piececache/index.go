package piececache

import (
	"bytes"
	"math"
	"slices"
)

// pieceID names one piece.
type pieceID struct {
	ih    [20]byte
	piece uint32
}

// index is the in-memory record of which pieces a store holds, their sizes
// and their order of last use. It does no I/O and no locking: its owner
// guards it with a mutex.
//
// It is compact, about 48 bytes a piece, so that a cache of a million
// pieces costs tens of megabytes: the use order is a doubly linked list
// threaded through one slice by int32 indexes, and each torrent maps piece
// numbers to slots in that slice.
type index struct {
	torrents   map[[20]byte]*torrentIndex
	nodes      []node
	free       []int32 // unused slots in nodes
	head, tail int32   // most and least recently used slot, or none
	pieces     int
	bytes      int64

	// pins counts Pin calls not yet matched by Unpin, per piece, whether
	// or not the piece is held (a reader pins its window before the
	// pieces arrive).
	pins map[pieceID]int32
}

const none = -1

// held is a piece a store held and, for a Cache, its file.
type held struct {
	id  pieceID
	seq uint64
}

type torrentIndex struct {
	ih     [20]byte
	pieces map[uint32]int32 // piece number -> slot in index.nodes
}

type node struct {
	t          *torrentIndex // nil in a free slot
	piece      uint32
	size       uint32 // bytes this piece accounts for in Stats.Bytes
	seq        uint64 // Cache: the sequence number of the piece's file (files.go)
	stamp      uint32 // coarse time of last use (Unix seconds), persisted lazily by Cache
	prev, next int32  // towards head (more recent) and tail
}

func newIndex() *index {
	return &index{torrents: map[[20]byte]*torrentIndex{}, head: none, tail: none, pins: map[pieceID]int32{}}
}

func (x *index) slot(id pieceID) (int32, bool) {
	t := x.torrents[id.ih]
	if t == nil {
		return 0, false
	}
	s, ok := t.pieces[id.piece]
	return s, ok
}

func (x *index) has(id pieceID) bool {
	_, ok := x.slot(id)
	return ok
}

// add records id with size bytes as most recently used, replacing any
// earlier record of it; it returns the size of that earlier record, or 0.
func (x *index) add(id pieceID, size int64) (replaced int64) {
	size32 := uint32(min(max(size, 0), math.MaxUint32))
	if s, ok := x.slot(id); ok {
		n := &x.nodes[s]
		replaced = int64(n.size)
		x.bytes += int64(size32) - replaced
		n.size = size32
		x.unlink(s)
		x.pushFront(s)
		return replaced
	}
	t := x.torrents[id.ih]
	if t == nil {
		t = &torrentIndex{ih: id.ih, pieces: map[uint32]int32{}}
		x.torrents[id.ih] = t
	}
	var s int32
	if k := len(x.free); k > 0 {
		s, x.free = x.free[k-1], x.free[:k-1]
	} else {
		s = int32(len(x.nodes))
		x.nodes = append(x.nodes, node{})
	}
	x.nodes[s] = node{t: t, piece: id.piece, size: size32}
	x.pushFront(s)
	t.pieces[id.piece] = s
	x.pieces++
	x.bytes += int64(size32)
	return 0
}

// seqOf returns the file sequence number recorded for id.
func (x *index) seqOf(id pieceID) (uint64, bool) {
	s, ok := x.slot(id)
	if !ok {
		return 0, false
	}
	return x.nodes[s].seq, true
}

// setSeq records id's file sequence number; id must be held.
func (x *index) setSeq(id pieceID, seq uint64) {
	if s, ok := x.slot(id); ok {
		x.nodes[s].seq = seq
	}
}

// touch marks id as just used; it reports whether id is held.
func (x *index) touch(id pieceID) bool {
	s, ok := x.slot(id)
	if ok && s != x.head {
		x.unlink(s)
		x.pushFront(s)
	}
	return ok
}

// remove forgets id and returns the size it accounted for.
func (x *index) remove(id pieceID) int64 {
	s, ok := x.slot(id)
	if !ok {
		return 0
	}
	n := x.nodes[s]
	x.unlink(s)
	delete(n.t.pieces, id.piece)
	if len(n.t.pieces) == 0 {
		delete(x.torrents, id.ih)
	}
	x.nodes[s] = node{}
	x.free = append(x.free, s)
	x.pieces--
	x.bytes -= int64(n.size)
	return int64(n.size)
}

// oldest returns the least recently used piece.
func (x *index) oldest() (pieceID, bool) {
	if x.tail == none {
		return pieceID{}, false
	}
	n := &x.nodes[x.tail]
	return pieceID{n.t.ih, n.piece}, true
}

func (x *index) unlink(s int32) {
	n := &x.nodes[s]
	if n.prev != none {
		x.nodes[n.prev].next = n.next
	} else {
		x.head = n.next
	}
	if n.next != none {
		x.nodes[n.next].prev = n.prev
	} else {
		x.tail = n.prev
	}
	n.prev, n.next = none, none
}

func (x *index) pushFront(s int32) {
	n := &x.nodes[s]
	n.prev, n.next = none, x.head
	if x.head != none {
		x.nodes[x.head].prev = s
	}
	x.head = s
	if x.tail == none {
		x.tail = s
	}
}

// list returns ih's pieces in increasing order.
func (x *index) list(ih [20]byte) []int {
	t := x.torrents[ih]
	if t == nil {
		return []int{}
	}
	out := make([]int, 0, len(t.pieces))
	for p := range t.pieces {
		out = append(out, int(p))
	}
	slices.Sort(out)
	return out
}

func (x *index) stats() Stats {
	return Stats{Pieces: x.pieces, Bytes: x.bytes, Torrents: len(x.torrents)}
}

// setStamp records stamp as id's time of last use; it reports whether the
// recorded stamp changed (false also if id is not held).
func (x *index) setStamp(id pieceID, stamp uint32) bool {
	s, ok := x.slot(id)
	if !ok || x.nodes[s].stamp == stamp {
		return false
	}
	x.nodes[s].stamp = stamp
	return true
}

// pin and unpin count pins of id. unpin of a piece not pinned is a no-op.
func (x *index) pin(id pieceID) { x.pins[id]++ }

func (x *index) unpin(id pieceID) {
	switch n := x.pins[id]; {
	case n > 1:
		x.pins[id] = n - 1
	case n == 1:
		delete(x.pins, id)
	}
}

// pinnedBytes is the size of the held pieces that are pinned.
func (x *index) pinnedBytes() int64 {
	var n int64
	for id := range x.pins {
		if s, ok := x.slot(id); ok {
			n += int64(x.nodes[s].size)
		}
	}
	return n
}

// evictTo removes least recently used pieces until bytes is at most low.
// It passes over pinned pieces while unpinned ones remain; only if the
// pinned pieces alone take more than low are they evicted too, least
// recently used first. It returns what it removed.
func (x *index) evictTo(low int64) (victims []held, freed int64) {
	for pass := 0; pass < 2 && x.bytes > low; pass++ {
		for s := x.tail; s != none && x.bytes > low; {
			n := x.nodes[s]
			id := pieceID{n.t.ih, n.piece}
			s = n.prev
			if pass == 0 && x.pins[id] > 0 {
				continue
			}
			victims = append(victims, held{id, n.seq})
			freed += x.remove(id)
		}
	}
	return victims, freed
}

// torrentStats lists every torrent held, in info-hash order.
func (x *index) torrentStats() []TorrentStats {
	out := make([]TorrentStats, 0, len(x.torrents))
	for ih, t := range x.torrents {
		ts := TorrentStats{InfoHash: ih, Pieces: len(t.pieces)}
		for _, s := range t.pieces {
			ts.Bytes += int64(x.nodes[s].size)
		}
		out = append(out, ts)
	}
	slices.SortFunc(out, func(a, b TorrentStats) int { return bytes.Compare(a.InfoHash[:], b.InfoHash[:]) })
	return out
}

// TorrentStats describes what a store holds of one torrent.
type TorrentStats struct {
	InfoHash [20]byte
	Pieces   int
	Bytes    int64 // as in Stats.Bytes
}

// Stats describes what a store holds.
type Stats struct {
	Pieces   int
	Bytes    int64 // Cache: what the held pieces' files take on disk (header and CRCs included, in whole 4 KiB blocks); Memory: piece bytes
	Torrents int
}
