package fetcher

import (
	"context"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/torrentfs/torrentfs/fetcher/peerwire"
	"github.com/torrentfs/torrentfs/metainfo"
)

// pickerHarness is a torrent of 8 pieces of 4 blocks with peers that have
// no connection; what they are asked for is read from their out maps.
func pickerHarness(rates ...float64) (*Torrent, []*peer) {
	const block = peerwire.BlockSize
	info := &metainfo.Info{Pieces: make([][20]byte, 8), PieceLength: 4 * block, TotalLength: 32 * block}
	t := &Torrent{
		c:       &Client{opts: Options{MaxInFlightBytes: 16 << 20}},
		info:    info,
		log:     slog.New(slog.DiscardHandler),
		have:    peerwire.NewBitfield(8),
		pieces:  map[int]*pieceState{},
		waiters: map[int]*waiter{},
		wants:   map[*Reader]readerWants{},
		peers:   map[*peer]struct{}{},
	}
	t.bufPool.New = func() any { b := make([]byte, info.PieceLength); return &b }
	var ps []*peer
	for _, r := range rates {
		p := &peer{t: t, log: t.log, haveAll: true, out: map[blockKey]time.Time{}, maxOut: 64,
			rate: r, allowedFast: map[uint32]bool{}, wakeW: make(chan struct{}, 1)}
		t.peers[p] = struct{}{}
		t.bestRate = max(t.bestRate, r)
		ps = append(ps, p)
	}
	return t, ps
}

// TestDuePieceAtASlowPeerComesBeforeReadahead: a piece a read waits on
// whose blocks all went to a peer that turned out slow is asked of a fast
// peer at once, before the fast peer starts on readahead.
func TestDuePieceAtASlowPeerComesBeforeReadahead(t *testing.T) {
	tor, ps := pickerHarness(0, 100e6) // the first peer's rate is not known yet
	slow, fast := ps[0], ps[1]
	now := time.Unix(1_000_000, 0)
	tor.wants[&Reader{}] = readerWants{ws: []want{{piece: 0, deadline: now}, {piece: 1, deadline: now.Add(time.Second)}}}
	tor.wantDirty = true
	// Piece 0 went to the first peer before its rate was known; then it
	// turned out slow.
	askAllOfPieceZero(t, tor, slow, now)
	slow.rate = 1e6
	// Just after (nothing is late by time yet), the fast peer's first pick
	// is a duplicate of piece 0, not piece 1.
	pst, b := tor.pickLocked(fast, now.Add(time.Millisecond))
	if pst == nil || pst.index != 0 {
		t.Fatalf("the fast peer picked %s, want a duplicate of due piece 0", picked(pst, b))
	}
	// A peer as slow as the first gets readahead, not duplicates.
	tor2, ps2 := pickerHarness(0, 1e6, 100e6)
	tor2.wants[&Reader{}] = readerWants{ws: []want{{piece: 0, deadline: now}, {piece: 1, deadline: now.Add(time.Second)}}}
	tor2.wantDirty = true
	for range 4 {
		pst, b := tor2.pickLocked(ps2[0], now)
		pst.addReq(b, ps2[0], now)
	}
	ps2[0].rate = 1e6
	if pst, b := tor2.pickLocked(ps2[1], now.Add(time.Millisecond)); pst != nil && pst.index == 0 {
		t.Errorf("a slow peer was asked for %s, a duplicate of the due piece", picked(pst, b))
	}
}

// askAllOfPieceZero has p pick every block of piece 0, and records the
// requests as sent.
func askAllOfPieceZero(t *testing.T, tor *Torrent, p *peer, now time.Time) {
	t.Helper()
	for range 4 {
		pst, b := tor.pickLocked(p, now)
		if pst == nil || pst.index != 0 {
			t.Fatalf("picked %s, want a block of piece 0", picked(pst, b))
		}
		pst.addReq(b, p, now)
		p.out[blockKey{0, uint32(b * peerwire.BlockSize)}] = now
	}
}

func picked(ps *pieceState, b int) string {
	if ps == nil {
		return "nothing"
	}
	return fmt.Sprintf("piece %d block %d", ps.index, b)
}

// TestBlocksAtANewPeerAreLateAfterTheBestLatency: a peer that has sent no
// block yet has no latency of its own; its blocks of a due piece count as
// late once they are lateFactor times older than the best peer's latency
// (at least minLate), not after a fixed 4*minLate.
func TestBlocksAtANewPeerAreLateAfterTheBestLatency(t *testing.T) {
	tor, ps := pickerHarness(0, 0)
	fresh, known := ps[0], ps[1]
	known.latency = 5 * time.Millisecond
	now := time.Unix(1_000_000, 0)
	tor.wants[&Reader{}] = readerWants{ws: []want{{piece: 0, deadline: now}}}
	tor.wantDirty = true
	askAllOfPieceZero(t, tor, fresh, now)
	if pst, b := tor.pickLocked(known, now.Add(minLate-time.Millisecond)); pst != nil {
		t.Fatalf("before minLate the other peer picked %s, want nothing", picked(pst, b))
	}
	if pst, b := tor.pickLocked(known, now.Add(minLate+time.Millisecond)); pst == nil || pst.index != 0 {
		t.Fatalf("after minLate the other peer picked %s, want a duplicate of due piece 0", picked(pst, b))
	}
	if got := tor.freshLateAfterLocked(); got != minLate {
		t.Errorf("freshLateAfter with a best latency of 5ms = %v, want %v", got, minLate)
	}
	known.latency = time.Second
	if got := tor.freshLateAfterLocked(); got != 4*minLate {
		t.Errorf("freshLateAfter with a best latency of 1s = %v, want %v", got, 4*minLate)
	}
}

// TestWaitingReadGetsLateBlocksRetried: while a read waits on a piece whose
// blocks sit at a peer that sends nothing, the maintenance loop asks
// another peer for them within a few lateCheck periods, with no event
// (block, unchoke, tick) to drive the picker.
func TestWaitingReadGetsLateBlocksRetried(t *testing.T) {
	tor, ps := pickerHarness(0, 0)
	stuck, other := ps[0], ps[1]
	other.latency = time.Millisecond
	tor.kick, tor.refill, tor.blocked = make(chan struct{}, 1), make(chan struct{}, 1), make(chan struct{}, 1)
	now := time.Now()
	tor.addWaiterLocked(0, now) // the loop is not running yet: no lock needed
	askAllOfPieceZero(t, tor, stuck, now)

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); tor.maintainLoop(ctx) }()
	defer func() { cancel(); <-done }()
	// The loop's first review is a tick (1 s) away; the late check must
	// come well before.
	deadline := time.Now().Add(tick / 2)
	for time.Now().Before(deadline) {
		tor.mu.Lock()
		n := len(other.out)
		tor.mu.Unlock()
		if n > 0 {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("no duplicate request %v after the read started waiting", tick/2)
}
