package fetcher

import (
	"slices"
	"time"

	"github.com/torrentfs/torrentfs/fetcher/peerwire"
)

const (
	// urgentHorizon: a piece due within this is urgent: it may start past
	// the in-flight memory budget (see roomForLocked), and slow peers leave
	// it to fast ones.
	urgentHorizon = 500 * time.Millisecond
	// minLate and maxLate bound when a block of a piece already due, not
	// yet received, is also asked of another peer: after lateFactor times
	// the latency its peer usually shows, within these bounds.
	minLate    = 30 * time.Millisecond
	maxLate    = 2 * time.Second
	lateFactor = 3
	// fillRound is how many blocks each peer is given per turn when all
	// are filled together, so that an urgent piece is spread over peers.
	fillRound = 4
)

// fillAllLocked tops up every peer's request pipeline, a few blocks per
// peer per turn, so that the most urgent pieces are shared between peers
// rather than handed whole to whichever peer came first.
func (t *Torrent) fillAllLocked(now time.Time) {
	t.preemptLocked(now)
	for {
		progress := false
		for p := range t.peers {
			if t.fillPeerNLocked(p, now, fillRound) > 0 {
				progress = true
			}
		}
		if !progress {
			return
		}
	}
}

// fillPeerLocked sends p requests for the most urgent blocks it can give
// us, up to its pipeline depth.
func (t *Torrent) fillPeerLocked(p *peer, now time.Time) {
	t.fillPeerNLocked(p, now, p.maxOut)
}

// fillPeerNLocked sends p up to n requests and returns how many it sent.
func (t *Torrent) fillPeerNLocked(p *peer, now time.Time, n int) int {
	if p.gone || (p.peerChoking && len(p.allowedFast) == 0) {
		return 0
	}
	sent := 0
	for ; sent < n && len(p.out) < p.maxOut; sent++ {
		ps, b := t.pickLocked(p, now)
		if ps == nil {
			break
		}
		begin, length := ps.blockBounds(b)
		ps.addReq(b, p, now)
		key := blockKey{uint32(ps.index), uint32(begin)}
		if len(p.out) == 0 {
			p.lastProgress = now
		}
		p.out[key] = now
		p.queue(&peerwire.Message{ID: peerwire.Request, Index: key.index, Begin: key.begin, Length: uint32(length)})
	}
	return sent
}

// pickLocked chooses the block to ask p for next, or returns nil.
func (t *Torrent) pickLocked(p *peer, now time.Time) (*pieceState, int) {
	wl := t.wantListLocked()
	if ps, b := t.pickLateLocked(p, wl, now); ps != nil {
		return ps, b
	}
	for i := t.pickFrom; i < len(wl); i++ {
		w := wl[i]
		if i == t.pickFrom && t.exhaustedLocked(w.piece) {
			t.pickFrom++ // nobody can be asked for it: skip it from now on
			continue
		}
		if t.have.Has(w.piece) || !p.hasLocked(w.piece) {
			continue
		}
		if p.peerChoking && !p.allowedFast[uint32(w.piece)] {
			continue
		}
		if !w.deadline.After(now.Add(urgentHorizon)) && t.slowLocked(p) && t.fastPeerHasLocked(w.piece, p) {
			continue // leave urgent pieces to the fast peers that have them
		}
		ps := t.pieces[w.piece]
		if ps == nil {
			if ps = t.startPieceLocked(w.piece, w.deadline, now); ps == nil {
				continue
			}
		}
		if ps.verifying || (ps.excluded[p] && t.othersHaveLocked(ps, p)) {
			continue
		}
		if b := ps.nextFree(); b >= 0 {
			return ps, b
		}
	}
	if t.c.opts.Background {
		return t.pickBackgroundLocked(p)
	}
	return nil, -1
}

// pickLateLocked gives a piece a read waits on priority over readahead:
// when every block of a due piece is asked for, and one of them is late at
// its peer (or that peer is slow), p asks for it too; the loser is
// cancelled. Due pieces with blocks nobody was asked for are served by
// pickLocked's main loop.
func (t *Torrent) pickLateLocked(p *peer, wl []want, now time.Time) (*pieceState, int) {
	if t.slowLocked(p) {
		return nil, -1 // a duplicate from a slow peer would arrive late too
	}
	fresh := t.freshLateAfterLocked()
	for _, w := range wl {
		if w.deadline.After(now) {
			break
		}
		ps := t.pieces[w.piece]
		if ps == nil || ps.numFree > 0 || ps.verifying || !p.hasLocked(w.piece) || ps.excluded[p] {
			continue
		}
		if p.peerChoking && !p.allowedFast[uint32(w.piece)] {
			continue
		}
		if b := ps.lateBlock(p, now, fresh, t.slowLocked); b >= 0 {
			return ps, b
		}
	}
	return nil, -1
}

// pickBackgroundLocked chooses a block of a piece nobody reads, in order,
// within the in-flight budget: with Options.Background the whole torrent
// is fetched while readers are served first.
func (t *Torrent) pickBackgroundLocked(p *peer) (*pieceState, int) {
	if p.peerChoking {
		return nil, -1
	}
	for i := t.bgFrom; i < t.info.NumPieces(); i++ {
		if i == t.bgFrom && t.exhaustedLocked(i) {
			t.bgFrom++
			continue
		}
		if t.have.Has(i) || !p.hasLocked(i) {
			continue
		}
		ps := t.pieces[i]
		if ps == nil {
			if ps = t.startPieceLocked(i, time.Time{}, time.Time{}); ps == nil {
				return nil, -1
			}
		}
		if ps.verifying || (ps.excluded[p] && t.othersHaveLocked(ps, p)) {
			continue
		}
		if b := ps.nextFree(); b >= 0 {
			return ps, b
		}
	}
	return nil, -1
}

// startPieceLocked starts downloading piece i, due at deadline (zero:
// none), with a buffer out of the in-flight budget, or returns nil if the
// budget has no room for it (see roomForLocked).
func (t *Torrent) startPieceLocked(i int, deadline, now time.Time) *pieceState {
	size := int(t.info.PieceSize(i))
	if !t.roomForLocked(size, deadline, now) {
		return nil
	}
	ps := newPieceState(i, size)
	ps.buf = t.getBuf(size)
	t.pieces[i] = ps
	t.c.inflight.Add(int64(size))
	return ps
}

// roomForLocked reports whether a piece of size bytes due at deadline may
// be started within the in-flight memory budget, which all torrents of the
// client share (so that a mount of many torrents is bounded as one of a
// single torrent is; checks in different torrents may race past it by a
// piece or two). An urgent piece may go a quarter past it, and a piece a
// read waits on now up to twice it, so that readahead never starves the
// read itself; but at high rates nearly every piece of a reader's window
// is urgent, so even those are bounded. With nothing in flight any piece
// may start, however large. A zero deadline means none: the piece is
// fetched in the background or as an extension.
func (t *Torrent) roomForLocked(size int, deadline, now time.Time) bool {
	budget := t.c.opts.MaxInFlightBytes
	limit := budget
	switch {
	case deadline.IsZero():
	case !deadline.After(now):
		limit = 2 * budget
	case !deadline.After(now.Add(urgentHorizon)):
		limit = budget + budget/4
	}
	inflight := t.c.inflight.Load()
	if inflight == 0 || inflight+int64(size) <= limit {
		return true
	}
	t.c.starved.Store(true)
	return false
}

// freshLateAfterLocked is when a block counts as late at a peer that has
// sent no block yet, so has no latency of its own: lateFactor times the
// lowest latency another peer shows (a new peer as fast as the best would
// have answered by then), within [minLate, 4*minLate]; 4*minLate if no
// peer has sent a block.
func (t *Torrent) freshLateAfterLocked() time.Duration {
	var best time.Duration
	for q := range t.peers {
		if q.latency > 0 && (best == 0 || q.latency < best) {
			best = q.latency
		}
	}
	if best == 0 {
		return 4 * minLate
	}
	return min(max(lateFactor*best, minLate), 4*minLate)
}

// slowLocked reports whether p is much slower than the fastest peer.
func (t *Torrent) slowLocked(p *peer) bool {
	return p.rate > 0 && p.rate < t.bestRate/4
}

// fastPeerHasLocked reports whether a peer other than p, not slow and not
// choking us, has piece i.
func (t *Torrent) fastPeerHasLocked(i int, p *peer) bool {
	for q := range t.peers {
		if q != p && !q.gone && !q.peerChoking && !t.slowLocked(q) && q.hasLocked(i) {
			return true
		}
	}
	return false
}

// exhaustedLocked reports whether no peer can be asked for any block of
// piece i: it is had, being verified, or every block is received or
// requested. Only events that free a block change that; they call
// freedLocked.
func (t *Torrent) exhaustedLocked(i int) bool {
	if t.have.Has(i) {
		return true
	}
	ps := t.pieces[i]
	return ps != nil && (ps.verifying || ps.numFree == 0)
}

// freedLocked makes the picker look at every wanted piece again, after a
// block became free to request.
func (t *Torrent) freedLocked() { t.pickFrom, t.bgFrom = 0, 0 }

// othersHaveLocked reports whether a connected peer other than the excluded
// ones has ps's piece.
func (t *Torrent) othersHaveLocked(ps *pieceState, p *peer) bool {
	for q := range t.peers {
		if q != p && !ps.excluded[q] && !q.gone && q.hasLocked(ps.index) {
			return true
		}
	}
	return false
}

// preemptLocked lets a piece that is due now jump peers' queues. Peers
// serve requests in order, and a full pipeline holds about a second of
// readahead, so after a seek the blocks under the read would wait behind
// it. When a due piece has blocks nobody was asked for, each peer that has
// the piece and whose pipeline is full gets its requests for pieces not
// due soon cancelled; they are asked for again later.
func (t *Torrent) preemptLocked(now time.Time) {
	var due []int
	for _, w := range t.wantListLocked() {
		if w.deadline.After(now) {
			break
		}
		if t.have.Has(w.piece) {
			continue
		}
		if ps := t.pieces[w.piece]; ps == nil || (!ps.verifying && ps.numFree > 0) {
			due = append(due, w.piece)
		}
	}
	if len(due) == 0 {
		return
	}
	soon := now.Add(urgentHorizon)
	for p := range t.peers {
		if p.gone || p.peerChoking || len(p.out) < p.maxOut || !slices.ContainsFunc(due, p.hasLocked) {
			continue
		}
		n := 0
		for k := range p.out {
			if d, ok := t.dueBy[int(k.index)]; ok && !d.After(soon) {
				continue
			}
			delete(p.out, k)
			if ps := t.pieces[int(k.index)]; ps != nil {
				b := int(k.begin) / peerwire.BlockSize
				_, length := ps.blockBounds(b)
				ps.dropReq(b, p)
				p.queue(&peerwire.Message{ID: peerwire.Cancel, Index: k.index, Begin: k.begin, Length: uint32(length)})
			}
			n++
		}
		if n > 0 {
			p.log.Debug("cancelled readahead requests for a piece due now", "cancelled", n)
			t.freedLocked()
		}
	}
}
