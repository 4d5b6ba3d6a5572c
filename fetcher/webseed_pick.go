package fetcher

import (
	"time"

	"github.com/torrentfs/torrentfs/metainfo"
)

// webState is what reserve found.
type webState int

const (
	webWork     webState = iota // a job to fetch
	webIdle                     // nothing to fetch now
	webComplete                 // the torrent is complete
	webDisabled                 // the web seed sent bad data, or the torrent closed
)

// webJob is what a web seed fetches in one go: consecutive parts of the
// torrent's byte stream, each the blocks [first, end) of one piece. Every
// part but the last ends at its piece's end and every part but the first
// starts at block 0, so the job is one span of the stream. The blocks it
// reserved are the keys of the sentinel's out map.
type webJob struct {
	parts []webPart
}

type webPart struct {
	ps         *pieceState
	first, end int
}

// span is the job's range of the torrent's byte stream.
func (j *webJob) span(info *metainfo.Info) (off int64, n int) {
	a, z := j.parts[0], j.parts[len(j.parts)-1]
	begin, _ := a.ps.blockBounds(a.first)
	b, m := z.ps.blockBounds(z.end - 1)
	off = info.PieceOffset(a.ps.index) + int64(begin)
	end := info.PieceOffset(z.ps.index) + int64(b+m)
	return off, int(end - off)
}

// reserve picks what the web seed fetches next and reserves its blocks,
// or returns nil. In order: the most urgent wanted piece no peer is
// fetching; blocks of a piece due now that are free or late from a peer;
// with Options.Background, the first piece nobody fetches. A piece taken
// whole is followed by the next pieces, if they are wanted and untouched,
// up to about maxBytes (see extendLocked; rate is the web seed's, in bytes
// per second).
func (ws *webseed) reserve(now time.Time, maxBytes int, rate float64) (*webJob, webState) {
	t := ws.t
	t.mu.Lock()
	defer t.mu.Unlock()
	if ws.p.gone || t.closed {
		return nil, webDisabled
	}
	if t.haveCount == t.info.NumPieces() {
		return nil, webComplete
	}
	wl := t.wantListLocked()
	for i := t.pickFrom; i < len(wl); i++ {
		w := wl[i]
		// Past the in-flight budget, pieces already started may still be
		// taken, as with peers.
		if part, _ := ws.takePieceLocked(w.piece, w.deadline, false, now); part != nil {
			return ws.plannedLocked(ws.extendLocked(part, maxBytes, rate, now), rate), webWork
		}
	}
	for _, w := range wl {
		if w.deadline.After(now) {
			break
		}
		if part := ws.helpLocked(w.piece, now); part != nil {
			return ws.plannedLocked(&webJob{parts: []webPart{*part}}, rate), webWork
		}
	}
	if t.c.opts.Background {
		for i := t.bgFrom; i < t.info.NumPieces(); i++ {
			if part, full := ws.takePieceLocked(i, time.Time{}, false, now); part != nil {
				return ws.plannedLocked(ws.extendLocked(part, maxBytes, rate, now), rate), webWork
			} else if full {
				break
			}
		}
	}
	return nil, webIdle
}

// plannedLocked sets the sentinel's latency, which tells peers when the
// web seed's blocks are late (see lateBlock), to how long the job should
// take: the longer of past requests and the job's size at rate.
func (ws *webseed) plannedLocked(j *webJob, rate float64) *webJob {
	expect := ws.reqTime
	if rate > 0 {
		_, n := j.span(ws.t.info)
		expect = max(expect, time.Duration(float64(n)/rate*float64(time.Second)))
	}
	ws.p.latency = expect
	return j
}

// extendLocked makes a job of part and the pieces after it that are
// wanted (or fetched in the background), not started by anybody, fit in
// maxBytes, and are not due before they would arrive at rate if a fast
// peer could send them instead.
func (ws *webseed) extendLocked(part *webPart, maxBytes int, rate float64, now time.Time) *webJob {
	t := ws.t
	j := &webJob{parts: []webPart{*part}}
	_, n := j.span(t.info)
	for i := part.ps.index + 1; i < t.info.NumPieces(); i++ {
		last := j.parts[len(j.parts)-1]
		size := int(t.info.PieceSize(i))
		if last.end != last.ps.nblocks || n+size > maxBytes {
			break
		}
		due, wanted := t.dueBy[i]
		if !wanted && !t.c.opts.Background {
			break
		}
		late := rate <= 0 || due.Before(now.Add(time.Duration(float64(n+size)/rate*float64(time.Second))))
		if wanted && late && t.fastPeerHasLocked(i, ws.p) {
			break // it would hold up a reader: leave it to the peers
		}
		next, _ := ws.takePieceLocked(i, time.Time{}, true, now)
		if next == nil {
			break
		}
		j.parts = append(j.parts, *next)
		n += size
	}
	return j
}

// takePieceLocked reserves every block of piece i not yet received, if
// nobody has been asked for any of them (with whole, only if none is
// received either). full reports that the piece was not started because
// the in-flight budget is spent for a piece due at deadline (zero: none;
// see roomForLocked).
func (ws *webseed) takePieceLocked(i int, deadline time.Time, whole bool, now time.Time) (part *webPart, full bool) {
	t := ws.t
	if t.have.Has(i) {
		return nil, false
	}
	ps := t.pieces[i]
	if ps == nil {
		if ps = t.startPieceLocked(i, deadline, now); ps == nil {
			return nil, true
		}
	}
	if ps.verifying || ws.excludedLocked(ps) || ps.numFree == 0 || ps.numFree != ps.nblocks-ps.numGot || (whole && ps.numGot > 0) {
		return nil, false // a peer is fetching it, or it is complete
	}
	return ws.reserveLocked(ps, now, func(b int) bool { return len(ps.reqs[b]) == 0 }), false
}

// webHelpAfter: a web seed asks for a block already asked of a peer only
// once it has been outstanding this long and is late by the peer's own
// measure. Sooner, duplicates from a merely busy peer would waste both
// links.
const webHelpAfter = 250 * time.Millisecond

// helpLocked reserves the blocks of piece i, which a reader needs now,
// that are free or late from the peer they were asked of.
func (ws *webseed) helpLocked(i int, now time.Time) *webPart {
	t := ws.t
	ps := t.pieces[i]
	if t.have.Has(i) || ps == nil || ps.verifying || ws.excludedLocked(ps) {
		return nil
	}
	fresh := t.freshLateAfterLocked()
	return ws.reserveLocked(ps, now, func(b int) bool {
		rs := ps.reqs[b]
		if len(rs) == 0 {
			return true
		}
		return len(rs) == 1 && rs[0].p != ws.p && now.Sub(rs[0].at) > max(rs[0].p.lateAfter(fresh), webHelpAfter)
	})
}

// excludedLocked reports whether the web seed sent blocks of a failed
// copy of ps and a peer that did not can be asked for it instead.
func (ws *webseed) excludedLocked(ps *pieceState) bool {
	return ps.excluded[ws.p] && ws.t.othersHaveLocked(ps, ws.p)
}

// reserveLocked asks the web seed for every block of ps not received for
// which take is true, and returns the part spanning them, or nil.
func (ws *webseed) reserveLocked(ps *pieceState, now time.Time, take func(b int) bool) *webPart {
	first, end := -1, -1
	for b := range ps.nblocks {
		if ps.got[b] || !take(b) {
			continue
		}
		begin, _ := ps.blockBounds(b)
		ps.addReq(b, ws.p, now)
		ws.p.out[blockKey{uint32(ps.index), uint32(begin)}] = now
		if first < 0 {
			first = b
		}
		end = b + 1
	}
	if first < 0 {
		return nil
	}
	return &webPart{ps: ps, first: first, end: end}
}

// release gives back every block the web seed reserved, so that peers
// can be asked for them.
func (ws *webseed) release() {
	t := ws.t
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(ws.p.out) == 0 {
		return
	}
	t.dropRequestsLocked(ws.p)
	t.fillAllLocked(time.Now())
}

// deliverPart stores the bytes of a part (data starts at the part's
// first block) for every block the web seed still has reserved and nobody
// sent yet, and releases the part's other blocks. It returns the piece if
// it is now complete and must be hash-checked. disabled reports that the
// web seed was disabled for bad data.
func (ws *webseed) deliverPart(part webPart, data []byte) (done *pieceState, disabled bool) {
	t := ws.t
	s := ws.p
	now := time.Now()
	t.mu.Lock()
	defer t.mu.Unlock()
	ps := part.ps
	if s.gone || t.pieces[ps.index] != ps {
		return nil, s.gone // what is left is released with the job
	}
	base, _ := ps.blockBounds(part.first)
	freed := false
	for b := part.first; b < part.end; b++ {
		begin, length := ps.blockBounds(b)
		k := blockKey{uint32(ps.index), uint32(begin)}
		if _, ok := s.out[k]; !ok {
			continue
		}
		delete(s.out, k)
		if ps.verifying || ps.got[b] || !hasReqFrom(ps, b, s) {
			ps.dropReq(b, s)
			freed = freed || !ps.got[b]
			continue
		}
		if c := t.acceptBlockLocked(ps, b, s, data[begin-base:begin-base+length], now); c != nil {
			done = c
		}
	}
	if freed {
		t.freedLocked()
		t.fillAllLocked(now)
	}
	return done, false
}

// preempted reports whether the job should stop before its part from: no
// reader waits for any of its remaining pieces, and a reader waits for a
// piece that has blocks nobody was asked for, which the web seed could
// fetch at once.
func (ws *webseed) preempted(j *webJob, from int) bool {
	t := ws.t
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.waiters) == 0 {
		return false
	}
	for _, part := range j.parts[from:] {
		if _, ok := t.waiters[part.ps.index]; ok {
			return false
		}
	}
	for i := range t.waiters {
		if t.have.Has(i) {
			continue
		}
		if ps := t.pieces[i]; ps == nil || (!ps.verifying && ps.numFree > 0 && !ws.excludedLocked(ps)) {
			return true
		}
	}
	return false
}

// partRange is where part k of j lies in the job's span.
func (j *webJob) partRange(info *metainfo.Info, k int) (begin, end int) {
	spanOff, _ := j.span(info)
	p := j.parts[k]
	b0, _ := p.ps.blockBounds(p.first)
	b1, n := p.ps.blockBounds(p.end - 1)
	off := info.PieceOffset(p.ps.index) - spanOff
	return int(off) + b0, int(off) + b1 + n
}

// hasReqFrom reports whether block b of ps is requested from p.
func hasReqFrom(ps *pieceState, b int, p *peer) bool {
	for _, r := range ps.reqs[b] {
		if r.p == p {
			return true
		}
	}
	return false
}
