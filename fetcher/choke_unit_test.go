package fetcher

import (
	"bytes"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/torrentfs/torrentfs/fetcher/peerwire"
	"github.com/torrentfs/torrentfs/metainfo"
)

// chokeHarness drives a torrent's choker with a fake clock and peers that
// have no connection: what they are told is read from their queues.
type chokeHarness struct {
	t     *Torrent
	now   time.Time
	peers []*peer
}

func newChokeHarness(n int, seeding bool) *chokeHarness {
	info := &metainfo.Info{Pieces: make([][20]byte, 8), PieceLength: 1 << 14, TotalLength: 8 << 14}
	t := &Torrent{
		c:     &Client{opts: Options{UploadSlots: defaultUploadSlots}},
		info:  info,
		have:  peerwire.NewBitfield(8),
		peers: map[*peer]struct{}{},
	}
	if seeding {
		t.have.SetAll(8)
		t.haveCount = 8
	}
	h := &chokeHarness{t: t, now: time.Unix(1_000_000, 0)}
	for i := range n {
		p := &peer{t: t, log: slog.New(slog.DiscardHandler).With("peer", fmt.Sprint(i)), amChoking: true, peerChoking: true, wakeW: make(chan struct{}, 1)}
		t.peers[p] = struct{}{}
		h.peers = append(h.peers, p)
	}
	t.chokeTickLocked(h.now) // starts the schedule
	return h
}

// interested makes peers i... interested, in order.
func (h *chokeHarness) interested(is ...int) {
	for _, i := range is {
		h.peers[i].peerInterested = true
		h.t.onInterestedLocked(h.peers[i], h.now)
	}
}

// tick advances the clock by a second; each peer i unchoked is sent
// rates[i] bytes during it (if rates has an entry).
func (h *chokeHarness) tick(rates map[int]int64) {
	for i, r := range rates {
		if !h.peers[i].amChoking {
			h.peers[i].ch.sent.Add(r)
		}
	}
	h.now = h.now.Add(time.Second)
	h.t.chokeTickLocked(h.now)
}

// unchoked lists the unchoked peers, and which of them holds the
// optimistic unchoke (-1 if none).
func (h *chokeHarness) unchoked() (set []int, optimistic int) {
	optimistic = -1
	for i, p := range h.peers {
		if !p.amChoking {
			set = append(set, i)
		}
		if p.ch.optimistic {
			optimistic = i
		}
	}
	return set, optimistic
}

// check verifies the invariants: at most 4 slots and 1 optimistic, only
// interested peers unchoked, flags matching what was sent.
func (h *chokeHarness) check(tb testing.TB) {
	tb.Helper()
	slots, opt := 0, 0
	for i, p := range h.peers {
		if p.ch.slot {
			slots++
		}
		if p.ch.optimistic {
			opt++
		}
		if (p.ch.slot || p.ch.optimistic) == p.amChoking {
			tb.Fatalf("peer %d: slot=%v optimistic=%v but amChoking=%v", i, p.ch.slot, p.ch.optimistic, p.amChoking)
		}
		if !p.amChoking && !p.peerInterested {
			tb.Fatalf("peer %d is unchoked but not interested", i)
		}
	}
	if slots > defaultUploadSlots || opt > 1 {
		tb.Fatalf("%d slots and %d optimistic", slots, opt)
	}
}

// As a seed: the first four interested peers get slots, the fifth the
// optimistic unchoke, the sixth waits; nothing changes until the 10 s
// review, which gives the slots to the peers we sent the most and takes
// one from an idle peer.
func TestChokerSeedingRanksByUploadRate(t *testing.T) {
	h := newChokeHarness(6, true)
	h.interested(0, 1, 2, 3, 4, 5)
	h.check(t)
	set, opt := h.unchoked()
	if !slices.Equal(set, []int{0, 1, 2, 3, 4}) || opt != 4 {
		t.Fatalf("unchoked %v (optimistic %d), want [0 1 2 3 4] with 4 optimistic", set, opt)
	}
	// Peer 0 asks for nothing; the optimistic peer 4 is the fastest.
	rates := map[int]int64{1: 100 << 10, 2: 200 << 10, 3: 300 << 10, 4: 900 << 10}
	for s := 1; s < 10; s++ {
		h.tick(rates)
		h.check(t)
		if set, opt := h.unchoked(); !slices.Equal(set, []int{0, 1, 2, 3, 4}) || opt != 4 {
			t.Fatalf("after %d s: unchoked %v (optimistic %d): changed before the review", s, set, opt)
		}
	}
	h.tick(rates) // 10 s: review
	h.check(t)
	for _, i := range []int{1, 2, 3, 4} {
		if !h.peers[i].ch.slot {
			t.Errorf("after the review peer %d has no slot", i)
		}
	}
	if h.peers[0].ch.slot {
		t.Error("the idle peer 0 kept its slot")
	}
	if _, opt := h.unchoked(); opt != 0 && opt != 5 {
		t.Errorf("optimistic unchoke went to %d, want one of the waiting peers 0 or 5", opt)
	}
}

// While downloading, slots go to the peers that send us the most.
func TestChokerDownloadingRanksByTheirRate(t *testing.T) {
	h := newChokeHarness(6, false)
	h.interested(0, 1, 2, 3, 4, 5)
	for i, r := range []float64{10, 0, 50, 40, 30, 20} {
		h.peers[i].rate = r * 1024
	}
	// We send everyone the same.
	rates := map[int]int64{0: 1 << 20, 1: 1 << 20, 2: 1 << 20, 3: 1 << 20, 4: 1 << 20, 5: 1 << 20}
	for range 10 {
		h.tick(rates)
	}
	h.check(t)
	var slots []int
	for i, p := range h.peers {
		if p.ch.slot {
			slots = append(slots, i)
		}
	}
	if !slices.Equal(slots, []int{2, 3, 4, 5}) {
		t.Fatalf("slots %v, want the four fastest uploaders to us [2 3 4 5]", slots)
	}
}

// The optimistic unchoke moves every 30 s to another waiting peer.
func TestChokerOptimisticRotates(t *testing.T) {
	h := newChokeHarness(8, true)
	h.interested(0, 1, 2, 3, 4, 5, 6, 7)
	rates := map[int]int64{0: 1 << 20, 1: 1 << 20, 2: 1 << 20, 3: 1 << 20}
	_, prev := h.unchoked()
	holders := map[int]bool{prev: true}
	for s := 1; s <= 150; s++ {
		h.tick(rates)
		h.check(t)
		_, opt := h.unchoked()
		if opt == -1 {
			t.Fatalf("after %d s nobody holds the optimistic unchoke", s)
		}
		switch {
		case s%30 == 0 && opt == prev:
			t.Fatalf("after %d s the optimistic unchoke stayed with peer %d", s, opt)
		case s%30 != 0 && opt != prev:
			t.Fatalf("after %d s the optimistic unchoke moved from %d to %d between rotations", s, prev, opt)
		}
		prev = opt
		holders[opt] = true
	}
	if len(holders) < 3 {
		t.Errorf("in 150 s the optimistic unchoke went to only %v", slices.Sorted(maps.Keys(holders)))
	}
}

// A peer we never unchoked is three times as likely to get the optimistic
// unchoke as one we did.
func TestChokerOptimisticFavoursNewPeers(t *testing.T) {
	h := newChokeHarness(4, true)
	for _, p := range h.peers {
		p.peerInterested = true
	}
	for _, p := range h.peers[1:] {
		p.ch.unchokedAt = h.now
	}
	const trials = 6000
	won := 0
	for range trials {
		for _, p := range h.peers {
			p.ch.optimistic = false
		}
		h.t.pickOptimisticLocked()
		if h.peers[0].ch.optimistic {
			won++
		}
	}
	// Weights 3:1:1:1, so the new peer wins half the time.
	if got := float64(won) / trials; got < 0.45 || got > 0.55 {
		t.Errorf("the new peer won %.2f of the draws, want 0.5", got)
	}
}

// Losing interest frees a slot at once; the peer is choked and a waiting
// peer takes the slot without waiting for the review.
func TestChokerFreedSlotFilledAtOnce(t *testing.T) {
	h := newChokeHarness(7, true)
	h.interested(0, 1, 2, 3, 4, 5, 6)
	h.peers[1].peerInterested = false
	h.t.onNotInterestedLocked(h.peers[1], h.now)
	h.check(t)
	if !h.peers[1].amChoking {
		t.Fatal("a peer that lost interest is still unchoked")
	}
	set, _ := h.unchoked()
	if len(set) != 5 {
		t.Fatalf("unchoked %v after a slot freed, want 5 peers", set)
	}
	// A departed slot holder: removePeer deletes it, then calls the hook.
	gone := h.peers[2]
	delete(h.t.peers, gone)
	h.t.onPeerGoneLocked(gone)
	h.peers = slices.Delete(h.peers, 2, 3)
	h.check(t)
	if set, _ := h.unchoked(); len(set) != 5 {
		t.Fatalf("unchoked %v after a holder left, want 5 peers", set)
	}
}

// A choke sent to a peer comes before the rejects of its queued requests,
// and requests for allowed-fast pieces stay queued.
func TestChokeMessagesOrder(t *testing.T) {
	h := newChokeHarness(1, true)
	p := h.peers[0]
	p.fast = true
	p.ch.allowed = []uint32{3}
	p.ch.announced = 1
	h.interested(0)
	p.outBuf = p.outBuf[:0]
	p.uploads = []peerwire.Message{
		{ID: peerwire.Request, Index: 1, Length: 100},
		{ID: peerwire.Request, Index: 3, Length: 100},
		{ID: peerwire.Request, Index: 5, Length: 100},
	}
	p.peerInterested = false
	h.t.onNotInterestedLocked(p, h.now)
	var ids []peerwire.MessageID
	var idx []uint32
	dec := peerwire.NewDecoder(bytes.NewReader(p.outBuf), 1<<20)
	var m peerwire.Message
	for dec.Decode(&m) == nil {
		ids = append(ids, m.ID)
		idx = append(idx, m.Index)
	}
	if !slices.Equal(ids, []peerwire.MessageID{peerwire.Choke, peerwire.Reject, peerwire.Reject}) || idx[1] != 1 || idx[2] != 5 {
		t.Fatalf("sent %v for pieces %v, want choke then rejects of 1 and 5", ids, idx)
	}
	if len(p.uploads) != 1 || p.uploads[0].Index != 3 {
		t.Fatalf("queued after the choke: %v, want only the allowed-fast piece 3", p.uploads)
	}
}

// A newly interested peer finding every slot taken gets the slot of a
// holder that asked for nothing for idleGrace, at once; if every holder is
// busy, it waits.
func TestChokerIdleSlotGoesToNewcomer(t *testing.T) {
	h := newChokeHarness(7, true)
	h.interested(0, 1, 2, 3, 4)
	busy := map[int]int64{0: 1 << 20, 1: 1 << 20, 2: 1 << 20, 3: 1 << 20, 4: 1 << 20}
	h.tick(busy)
	h.interested(5)
	if !h.peers[5].amChoking {
		t.Fatal("a newcomer took a slot from busy peers")
	}
	// Peer 2 goes quiet for idleGrace, all before the 10 s review.
	delete(busy, 2)
	for range 5 {
		h.tick(busy)
	}
	h.peers[5].peerInterested = false // it gave up; now 6 arrives
	h.t.onNotInterestedLocked(h.peers[5], h.now)
	h.interested(6)
	h.check(t)
	if h.peers[6].amChoking || !h.peers[6].ch.slot {
		t.Fatal("the newcomer was not given the idle peer's slot at once")
	}
	if !h.peers[2].amChoking {
		t.Fatal("the idle peer kept its slot")
	}
}
