package fetcher

import (
	"cmp"
	"math/rand/v2"
	"slices"
	"sync/atomic"
	"time"

	"github.com/torrentfs/torrentfs/fetcher/peerwire"
)

// Choking (BEP 3). Each torrent unchokes at most Options.UploadSlots
// interested peers for their rate — while we download, the peers that
// send us the most; as a seed, the peers we send the most — and reviews
// that choice every rechokeEvery. One more interested peer holds the
// optimistic unchoke, which rotates every optimisticEvery so that every
// peer gets a chance to show its rate; a peer we never unchoked is three
// times as likely to get it. A slot that frees between reviews (its peer
// left or lost interest) is filled at once, and a peer that becomes
// interested while a slot is free is unchoked at once, and so is one that
// finds a slot holder idle for idleGrace: it takes that slot.
//
// An unchoked peer that requested nothing for a whole review period is
// ranked below every choked peer, so an idle peer does not keep a slot
// from one that waits.

const (
	defaultUploadSlots = 4
	rechokeEvery       = 10 * time.Second
	optimisticEvery    = 30 * time.Second
	// newPeerWeight: how much likelier a never-unchoked peer is to get the
	// optimistic unchoke than one we unchoked before.
	newPeerWeight = 3
)

// choker is a torrent's choking schedule. Guarded by Torrent.mu.
type choker struct {
	// rechokeEvery and optimisticEvery replace the constants when set
	// (tests shorten them).
	rechokeEvery, optimisticEvery time.Duration
	nextRechoke, nextOptimistic   time.Time // zero until the first tick
	lastRechoke                   time.Time
	lastTick                      time.Time
}

func (c *choker) rechokeInterval() time.Duration {
	if c.rechokeEvery > 0 {
		return c.rechokeEvery
	}
	return rechokeEvery
}

func (c *choker) optimisticInterval() time.Duration {
	if c.optimisticEvery > 0 {
		return c.optimisticEvery
	}
	return optimisticEvery
}

// peerChoke is our choking state for one peer. Guarded by Torrent.mu,
// except sent.
type peerChoke struct {
	// sent counts block bytes written to the peer since the last tick;
	// the write loop adds to it without Torrent.mu.
	sent       atomic.Int64
	upRate     float64   // smoothed bytes/s we send the peer
	window     int64     // block bytes sent since the last review
	slot       bool      // holds a regular unchoke slot
	optimistic bool      // holds the optimistic unchoke
	unchokedAt time.Time // when we last unchoked it; zero if never
	lastActive time.Time // the last tick in which we sent it blocks

	// BEP 6: the allowed-fast set we give the peer (nil if none) and which
	// of its pieces we announced (bit i for allowed[i]).
	allowed   []uint32
	announced uint32
}

// allowsFast reports whether the peer may request piece i while choked.
func (pc *peerChoke) allowsFast(i uint32) bool {
	for j, a := range pc.allowed {
		if a == i {
			return pc.announced&(1<<j) != 0
		}
	}
	return false
}

// onInterestedLocked answers a peer that became interested: it is
// unchoked at once if a regular slot is free, or else if nobody holds the
// optimistic unchoke, or else if a slot holder has been idle for
// idleGrace (it takes that slot); otherwise it waits for a review.
func (t *Torrent) onInterestedLocked(p *peer, now time.Time) {
	if !p.amChoking || p.gone {
		return
	}
	switch {
	case t.slotsUsedLocked() < t.c.opts.UploadSlots:
		p.ch.slot = true
	case t.optimisticPeerLocked() == nil:
		p.ch.optimistic = true
	default:
		q := t.idleSlotHolderLocked(now)
		if q == nil {
			return
		}
		q.ch.slot = false
		t.chokeLocked(q)
		p.ch.slot = true
	}
	t.unchokeLocked(p, now)
}

// idleGrace: a slot holder unchoked this long that asked for nothing in
// that time gives its slot to a newly interested peer at once.
const idleGrace = 5 * time.Second

// idleSlotHolderLocked returns a slot holder that has been unchoked for
// idleGrace and was sent nothing in that time and has nothing queued, or
// nil.
func (t *Torrent) idleSlotHolderLocked(now time.Time) *peer {
	for q := range t.peers {
		if !q.ch.slot || now.Sub(q.ch.unchokedAt) < idleGrace || now.Sub(q.ch.lastActive) < idleGrace || q.ch.sent.Load() != 0 {
			continue
		}
		q.outMu.Lock()
		queued := len(q.uploads)
		q.outMu.Unlock()
		if queued == 0 {
			return q
		}
	}
	return nil
}

// onNotInterestedLocked chokes a peer that lost interest and gives its
// slot to a waiting peer.
func (t *Torrent) onNotInterestedLocked(p *peer, now time.Time) {
	held := p.ch.slot || p.ch.optimistic
	p.ch.slot, p.ch.optimistic = false, false
	t.chokeLocked(p)
	if held {
		t.fillSlotsLocked(now)
	}
}

// onPeerGoneLocked gives a departed peer's slot to a waiting peer. p is
// already out of t.peers.
func (t *Torrent) onPeerGoneLocked(p *peer) {
	if p.ch.slot || p.ch.optimistic {
		p.ch.slot, p.ch.optimistic = false, false
		t.fillSlotsLocked(time.Now())
	}
}

// chokeTickLocked runs once a review tick: it measures what we sent each
// peer, reviews the unchoked set at rechoke boundaries (rotating the
// optimistic unchoke when due), fills free slots in between, and
// announces allowed-fast pieces we have acquired.
func (t *Torrent) chokeTickLocked(now time.Time) {
	c := &t.choke
	elapsed := tick
	if !c.lastTick.IsZero() {
		elapsed = max(now.Sub(c.lastTick), time.Millisecond)
	}
	c.lastTick = now
	for p := range t.peers {
		sent := p.ch.sent.Swap(0)
		if sent > 0 {
			p.ch.lastActive = now
		}
		p.ch.window += sent
		inst := float64(sent) / elapsed.Seconds()
		p.ch.upRate = 0.5*p.ch.upRate + 0.5*inst
	}
	if c.nextRechoke.IsZero() {
		c.lastRechoke = now
		c.nextRechoke = now.Add(c.rechokeInterval())
		c.nextOptimistic = now.Add(c.optimisticInterval())
	}
	// Ticks jitter; half a tick of slack keeps the schedule on its beat.
	slack := tick / 2
	switch {
	case !now.Add(slack).Before(c.nextRechoke):
		rotate := !now.Add(slack).Before(c.nextOptimistic)
		t.rechokeLocked(now, rotate)
		c.lastRechoke = now
		c.nextRechoke = now.Add(c.rechokeInterval())
		if rotate {
			c.nextOptimistic = now.Add(c.optimisticInterval())
		}
	case !now.Add(slack).Before(c.nextOptimistic):
		t.rotateOptimisticLocked(now)
		c.nextOptimistic = now.Add(c.optimisticInterval())
	default:
		t.fillSlotsLocked(now)
	}
	t.announceAllowedFastLocked()
}

// rechokeLocked gives the regular slots to the best-ranked interested
// peers, keeps or rotates the optimistic unchoke, and chokes the rest.
func (t *Torrent) rechokeLocked(now time.Time, rotate bool) {
	cands := t.rankedLocked(true)
	for i, p := range cands {
		p.ch.slot = i < t.c.opts.UploadSlots
		if p.ch.slot {
			p.ch.optimistic = false // earned a regular slot
		}
	}
	for p := range t.peers {
		if !p.peerInterested {
			p.ch.slot, p.ch.optimistic = false, false
		}
		p.ch.window = 0
	}
	if rotate || t.optimisticPeerLocked() == nil {
		t.pickOptimisticLocked()
	}
	t.applyLocked(now)
}

// rotateOptimisticLocked moves the optimistic unchoke to another waiting
// peer, if there is one.
func (t *Torrent) rotateOptimisticLocked(now time.Time) {
	t.pickOptimisticLocked()
	t.fillSlotsLocked(now)
}

// fillSlotsLocked unchokes waiting interested peers while regular slots
// are free, best ranked first, then gives out the optimistic unchoke if
// nobody holds it.
func (t *Torrent) fillSlotsLocked(now time.Time) {
	free := t.c.opts.UploadSlots - t.slotsUsedLocked()
	for _, p := range t.rankedLocked(false) {
		if free <= 0 {
			break
		}
		if !p.ch.slot && !p.ch.optimistic {
			p.ch.slot = true
			free--
		}
	}
	if t.optimisticPeerLocked() == nil {
		t.pickOptimisticLocked()
	}
	t.applyLocked(now)
}

// pickOptimisticLocked gives the optimistic unchoke to a random
// interested peer without a regular slot, other than its holder if
// another can take it. Peers never unchoked weigh newPeerWeight times.
func (t *Torrent) pickOptimisticLocked() {
	old := t.optimisticPeerLocked()
	var cands []*peer
	total := 0
	for p := range t.peers {
		if !p.peerInterested || p.ch.slot || p == old || p.gone {
			continue
		}
		cands = append(cands, p)
		total += optimisticWeight(p)
	}
	if len(cands) == 0 {
		if old != nil && (!old.peerInterested || old.ch.slot) {
			old.ch.optimistic = false
		}
		return // the holder, if any, keeps it
	}
	if old != nil {
		old.ch.optimistic = false
	}
	r := rand.IntN(total)
	for _, p := range cands {
		if r -= optimisticWeight(p); r < 0 {
			p.ch.optimistic = true
			return
		}
	}
}

func optimisticWeight(p *peer) int {
	if p.ch.unchokedAt.IsZero() {
		return newPeerWeight
	}
	return 1
}

// rankedLocked returns the interested peers, best first: by the rate
// that earns a slot, then by what we send them, then by how long they
// have waited. With all false only choked peers are returned.
func (t *Torrent) rankedLocked(all bool) []*peer {
	seeding := t.haveCount == t.info.NumPieces()
	lastRechoke := t.choke.lastRechoke
	type ranked struct {
		p       *peer
		score   float64
		waiting time.Time
	}
	var rs []ranked
	for p := range t.peers {
		if !p.peerInterested || p.gone || (!all && !p.amChoking) {
			continue
		}
		r := ranked{p: p, score: p.rate, waiting: p.ch.unchokedAt}
		if seeding {
			r.score = p.ch.upRate
		}
		// Unchoked for the whole period, yet asked for nothing: idle.
		if !p.amChoking && !p.ch.unchokedAt.After(lastRechoke) && p.ch.window == 0 {
			r.score = -1
		}
		rs = append(rs, r)
	}
	slices.SortFunc(rs, func(a, b ranked) int {
		if c := cmp.Compare(b.score, a.score); c != 0 {
			return c
		}
		if c := cmp.Compare(b.p.ch.upRate, a.p.ch.upRate); c != 0 {
			return c
		}
		return a.waiting.Compare(b.waiting) // unchoked longest ago (or never) first
	})
	out := make([]*peer, len(rs))
	for i, r := range rs {
		out[i] = r.p
	}
	return out
}

// applyLocked sends Choke or Unchoke to every peer whose flags changed.
func (t *Torrent) applyLocked(now time.Time) {
	for p := range t.peers {
		if p.ch.slot || p.ch.optimistic {
			t.unchokeLocked(p, now)
		} else {
			t.chokeLocked(p)
		}
	}
}

// slotsUsedLocked counts the peers holding regular slots.
func (t *Torrent) slotsUsedLocked() int {
	n := 0
	for p := range t.peers {
		if p.ch.slot {
			n++
		}
	}
	return n
}

// optimisticPeerLocked is the holder of the optimistic unchoke, or nil.
func (t *Torrent) optimisticPeerLocked() *peer {
	for p := range t.peers {
		if p.ch.optimistic {
			return p
		}
	}
	return nil
}

// unchokeLocked unchokes p if it is choked.
func (t *Torrent) unchokeLocked(p *peer, now time.Time) {
	if !p.amChoking {
		return
	}
	p.amChoking = false
	p.ch.unchokedAt = now
	p.ch.window = 0
	p.queue(&peerwire.Message{ID: peerwire.Unchoke})
	p.log.Debug("unchoking peer", "slot", p.ch.slot, "optimistic", p.ch.optimistic)
}

// chokeLocked chokes p if it is unchoked, and takes back the requests it
// has queued with us: each is rejected with the fast extension (BEP 6)
// and silently dropped without it, as a choke discards them (BEP 3).
// Requests for pieces in p's allowed-fast set are still served.
func (t *Torrent) chokeLocked(p *peer) {
	if p.amChoking {
		return
	}
	p.amChoking = true
	p.outMu.Lock()
	p.outBuf = peerwire.AppendMessage(p.outBuf, &peerwire.Message{ID: peerwire.Choke})
	kept := p.uploads[:0]
	for _, u := range p.uploads {
		if p.ch.allowsFast(u.Index) {
			kept = append(kept, u)
			continue
		}
		if p.fast {
			p.outBuf = peerwire.AppendMessage(p.outBuf, &peerwire.Message{ID: peerwire.Reject, Index: u.Index, Begin: u.Begin, Length: u.Length})
		}
	}
	dropped := len(p.uploads) - len(kept)
	clear(p.uploads[len(kept):])
	p.uploads = kept
	p.outMu.Unlock()
	p.wakeWriter()
	p.log.Debug("choking peer", "interested", p.peerInterested, "dropped_requests", dropped)
}
