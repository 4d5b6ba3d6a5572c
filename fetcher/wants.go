package fetcher

import (
	"slices"
	"time"
)

// want is a piece a reader needs, due by deadline.
type want struct {
	piece    int
	deadline time.Time
}

// readerWants is what one reader wants, and when it last said so.
type readerWants struct {
	ws []want
	at time.Time
}

// idleAfter: a reader that has not read for this long loses its readahead
// (pieces it is blocked on stay wanted through their waiters).
const idleAfter = 5 * time.Second

// setWants replaces what reader r wants and asks peers for it at once.
func (t *Torrent) setWants(r *Reader, ws []want) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return
	}
	if len(ws) == 0 {
		delete(t.wants, r)
	} else {
		t.wants[r] = readerWants{ws: ws, at: time.Now()}
	}
	t.wantDirty = true
	t.fillAllLocked(time.Now())
}

// wantListLocked returns every reader's wants merged: each piece not yet
// had once, at its earliest deadline, soonest first.
func (t *Torrent) wantListLocked() []want {
	if !t.wantDirty {
		return t.wantList
	}
	t.wantDirty = false
	t.pickFrom = 0
	earliest := make(map[int]time.Time)
	for _, rw := range t.wants {
		for _, w := range rw.ws {
			if t.have.Has(w.piece) {
				continue
			}
			if d, ok := earliest[w.piece]; !ok || w.deadline.Before(d) {
				earliest[w.piece] = w.deadline
			}
		}
	}
	for p, w := range t.waiters {
		if d, ok := earliest[p]; !ok || w.since.Before(d) {
			earliest[p] = w.since
		}
	}
	t.dueBy = earliest
	list := t.wantList[:0]
	for p, d := range earliest {
		list = append(list, want{piece: p, deadline: d})
	}
	slices.SortFunc(list, func(a, b want) int {
		if c := a.deadline.Compare(b.deadline); c != 0 {
			return c
		}
		return a.piece - b.piece
	})
	t.wantList = list
	return list
}

// wantedLocked reports whether any reader wants piece i.
func (t *Torrent) wantedLocked(i int) bool {
	for _, w := range t.wantListLocked() {
		if w.piece == i {
			return true
		}
	}
	return false
}

// demoteIdleLocked drops the readahead of readers that stopped reading, so
// a paused player does not hold the swarm's attention.
func (t *Torrent) demoteIdleLocked(now time.Time) {
	for r, rw := range t.wants {
		if now.Sub(rw.at) > idleAfter {
			delete(t.wants, r)
			t.wantDirty = true
			r.releasePins() // takes r.mu: the order is always t.mu, then r.mu
		}
	}
}
