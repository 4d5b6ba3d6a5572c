package fetcher

import "time"

// webJob is the blocks [first, end) of a piece a web seed fetches in one
// go. The blocks it reserved are the keys of the sentinel's out map.
type webJob struct {
	ps         *pieceState
	first, end int
}

// byteSpan is the job's range within its piece.
func (j *webJob) byteSpan() (begin, end int) {
	begin, _ = j.ps.blockBounds(j.first)
	b, n := j.ps.blockBounds(j.end - 1)
	return begin, b + n
}

// reserve picks what the web seed fetches next and reserves its blocks,
// or returns nil. In order: the most urgent wanted piece no peer is
// fetching; blocks of a piece due now that are free or late from a peer;
// with Options.Background, the first piece nobody fetches. disabled
// reports that the web seed was disabled for bad data.
func (ws *webseed) reserve(now time.Time) (job *webJob, disabled bool) {
	t := ws.t
	t.mu.Lock()
	defer t.mu.Unlock()
	if ws.p.gone || t.closed {
		return nil, true
	}
	if t.haveCount == t.info.NumPieces() {
		return nil, false
	}
	wl := t.wantListLocked()
	for i := t.pickFrom; i < len(wl); i++ {
		w := wl[i]
		urgent := !w.deadline.After(now.Add(urgentHorizon))
		if j, full := ws.takePieceLocked(w.piece, urgent, now); j != nil {
			return j, false
		} else if full {
			break
		}
	}
	for _, w := range wl {
		if w.deadline.After(now) {
			break
		}
		if j := ws.helpLocked(w.piece, now); j != nil {
			return j, false
		}
	}
	if t.c.opts.Background {
		for i := t.bgFrom; i < t.info.NumPieces(); i++ {
			if j, full := ws.takePieceLocked(i, false, now); j != nil {
				return j, false
			} else if full {
				break
			}
		}
	}
	return nil, false
}

// takePieceLocked reserves every block of piece i not yet received, if
// nobody has been asked for any of them. full reports that the piece was
// not started because the in-flight budget is spent (urgent pieces may
// exceed it, as with peers).
func (ws *webseed) takePieceLocked(i int, urgent bool, now time.Time) (job *webJob, full bool) {
	t := ws.t
	if t.have.Has(i) {
		return nil, false
	}
	ps := t.pieces[i]
	if ps == nil {
		size := int(t.info.PieceSize(i))
		if !urgent && t.inflight+int64(size) > t.c.opts.MaxInFlightBytes {
			return nil, true
		}
		ps = newPieceState(i, size)
		ps.buf = t.getBuf(size)
		t.pieces[i] = ps
		t.inflight += int64(size)
	}
	if ps.verifying || ws.excludedLocked(ps) || ps.numFree == 0 || ps.numFree != ps.nblocks-ps.numGot {
		return nil, false // a peer is fetching it, or it is complete
	}
	return ws.reserveLocked(ps, now, func(b int) bool { return len(ps.reqs[b]) == 0 }), false
}

// helpLocked reserves the blocks of piece i, which a reader needs now,
// that are free or late from the peer they were asked of.
func (ws *webseed) helpLocked(i int, now time.Time) *webJob {
	t := ws.t
	ps := t.pieces[i]
	if t.have.Has(i) || ps == nil || ps.verifying || ws.excludedLocked(ps) {
		return nil
	}
	return ws.reserveLocked(ps, now, func(b int) bool {
		rs := ps.reqs[b]
		if len(rs) == 0 {
			return true
		}
		return len(rs) == 1 && rs[0].p != ws.p && now.Sub(rs[0].at) > rs[0].p.lateAfter()
	})
}

// excludedLocked reports whether the web seed sent blocks of a failed
// copy of ps and a peer that did not can be asked for it instead.
func (ws *webseed) excludedLocked(ps *pieceState) bool {
	return ps.excluded[ws.p] && ws.t.othersHaveLocked(ps, ws.p)
}

// reserveLocked asks the web seed for every block of ps not received for
// which take is true, and returns the job spanning them, or nil.
func (ws *webseed) reserveLocked(ps *pieceState, now time.Time, take func(b int) bool) *webJob {
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
	return &webJob{ps: ps, first: first, end: end}
}

// release gives back every block the web seed reserved, so that peers
// can be asked for them.
func (ws *webseed) release() {
	t := ws.t
	t.mu.Lock()
	defer t.mu.Unlock()
	t.dropRequestsLocked(ws.p)
	t.fillAllLocked(time.Now())
}

// deliver stores the fetched bytes (the job's byteSpan) of every block the
// web seed still has reserved and nobody sent yet, and releases the rest.
// It returns the piece if it is now complete and must be hash-checked.
func (ws *webseed) deliver(j *webJob, data []byte) *pieceState {
	t := ws.t
	s := ws.p
	now := time.Now()
	t.mu.Lock()
	defer t.mu.Unlock()
	ps := j.ps
	var job *pieceState
	if !s.gone && t.pieces[ps.index] == ps {
		spanBegin, _ := j.byteSpan()
		for b := j.first; b < j.end; b++ {
			begin, length := ps.blockBounds(b)
			k := blockKey{uint32(ps.index), uint32(begin)}
			if _, ok := s.out[k]; !ok || ps.verifying {
				continue
			}
			delete(s.out, k)
			if ps.got[b] || !hasReqFrom(ps, b, s) {
				ps.dropReq(b, s)
				continue
			}
			if done := t.acceptBlockLocked(ps, b, s, data[begin-spanBegin:begin-spanBegin+length], now); done != nil {
				job = done
			}
		}
	}
	t.dropRequestsLocked(s) // whatever was not delivered
	t.fillAllLocked(now)
	return job
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
