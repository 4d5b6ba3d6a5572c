package fetcher

import (
	"time"

	"github.com/torrentfs/torrentfs/fetcher/peerwire"
)

// blockReq is one outstanding request for a block, from one peer.
type blockReq struct {
	p  *peer
	at time.Time
}

// pieceState is a piece being downloaded. All fields are guarded by the
// owning Torrent's mu.
type pieceState struct {
	index   int
	size    int
	nblocks int
	buf     []byte // size bytes; nil until the first request

	got     []bool       // got[b]: block b's bytes are in buf
	sender  []*peer      // sender[b]: who sent block b
	reqs    [][]blockReq // reqs[b]: outstanding requests for block b
	numGot  int
	numFree int // blocks neither received nor requested
	hint    int // no free block before this index

	verifying bool
	// excluded peers sent blocks of a copy of this piece that failed its
	// hash check; they are asked for it again only if nobody else has it.
	excluded map[*peer]bool
	// failed is the last copy that failed its hash check, and who sent
	// each of its blocks. When the piece later verifies, blocks that
	// differ convict their senders; the others are cleared.
	failed       []byte
	failedSender []*peer
}

func newPieceState(index, size int) *pieceState {
	n := (size + peerwire.BlockSize - 1) / peerwire.BlockSize
	return &pieceState{
		index:   index,
		size:    size,
		nblocks: n,
		got:     make([]bool, n),
		sender:  make([]*peer, n),
		reqs:    make([][]blockReq, n),
		numFree: n,
	}
}

func (ps *pieceState) blockBounds(b int) (begin, length int) {
	begin = b * peerwire.BlockSize
	length = min(peerwire.BlockSize, ps.size-begin)
	return begin, length
}

// nextFree returns a block nobody has been asked for, or -1.
func (ps *pieceState) nextFree() int {
	if ps.numFree == 0 {
		return -1
	}
	for b := ps.hint; b < ps.nblocks; b++ {
		if !ps.got[b] && len(ps.reqs[b]) == 0 {
			ps.hint = b
			return b
		}
	}
	return -1
}

// lateBlock returns a block not yet received whose only request is not
// from p and is late for the peer it went to (peer.lateAfter, fresh for a
// peer with no latency yet), or went to a peer slow reports as slow (its
// queue makes every block late), or -1: a candidate for a duplicate
// request.
func (ps *pieceState) lateBlock(p *peer, now time.Time, fresh time.Duration, slow func(*peer) bool) int {
	for b := 0; b < ps.nblocks; b++ {
		if ps.got[b] || len(ps.reqs[b]) != 1 {
			continue
		}
		r := ps.reqs[b][0]
		if r.p != p && (now.Sub(r.at) > r.p.lateAfter(fresh) || slow(r.p)) {
			return b
		}
	}
	return -1
}

func (ps *pieceState) addReq(b int, p *peer, now time.Time) {
	if len(ps.reqs[b]) == 0 {
		ps.numFree--
	}
	ps.reqs[b] = append(ps.reqs[b], blockReq{p: p, at: now})
}

// dropReq forgets p's request for block b, if any.
func (ps *pieceState) dropReq(b int, p *peer) {
	rs := ps.reqs[b]
	for i, r := range rs {
		if r.p == p {
			rs[i] = rs[len(rs)-1]
			rs = rs[:len(rs)-1]
			ps.reqs[b] = rs
			if len(rs) == 0 && !ps.got[b] {
				ps.numFree++
				ps.hint = min(ps.hint, b)
			}
			return
		}
	}
}

// reset forgets every received block, after a failed hash check.
func (ps *pieceState) reset() {
	for b := range ps.nblocks {
		ps.got[b] = false
		ps.sender[b] = nil
	}
	ps.numGot = 0
	ps.numFree = 0
	for b := range ps.nblocks {
		if len(ps.reqs[b]) == 0 {
			ps.numFree++
		}
	}
	ps.hint = 0
	ps.verifying = false
}
