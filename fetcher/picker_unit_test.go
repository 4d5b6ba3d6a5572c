package fetcher

import (
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
	for range 4 {
		pst, b := tor.pickLocked(slow, now)
		if pst == nil || pst.index != 0 {
			t.Fatalf("the first peer picked %s, want a block of piece 0", picked(pst, b))
		}
		pst.addReq(b, slow, now)
	}
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

func picked(ps *pieceState, b int) string {
	if ps == nil {
		return "nothing"
	}
	return fmt.Sprintf("piece %d block %d", ps.index, b)
}
