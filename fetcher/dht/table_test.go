package dht

import (
	"net/netip"
	"testing"
	"time"
)

// TestTableKeepsLiveNodesAndOrdersByDistance: a full bucket keeps its
// nodes against newcomers until one stops answering; closest sorts by XOR
// distance.
func TestTableKeepsLiveNodesAndOrdersByDistance(t *testing.T) {
	var self [20]byte
	tb := newTable(self)
	now := time.Unix(1, 0)
	addr := func(i int) netip.AddrPort {
		return netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 0, 0, byte(i)}), 6881)
	}
	// IDs with the top bit set all fall in bucket 0.
	idx := func(i int) [20]byte { var x [20]byte; x[0] = 0x80; x[19] = byte(i); return x }
	for i := range bucketSize + 1 {
		tb.seen(node{idx(i), addr(i)}, now)
	}
	if tb.len() != bucketSize {
		t.Fatalf("table holds %d nodes, want a full bucket of %d", tb.len(), bucketSize)
	}
	if tb.byAddr[addr(bucketSize)] != nil {
		t.Fatalf("a newcomer displaced a live node")
	}
	tb.failed(addr(3))
	tb.seen(node{idx(bucketSize), addr(bucketSize)}, now)
	if tb.byAddr[addr(bucketSize)] == nil || tb.byAddr[addr(3)] != nil {
		t.Fatalf("the newcomer did not take the place of the node that stopped answering")
	}
	tb.failed(addr(4))
	tb.failed(addr(4))
	if tb.byAddr[addr(4)] != nil {
		t.Fatalf("a node that failed %d times is still there", maxFails)
	}
	tb.seen(node{self, addr(99)}, now)
	if tb.byAddr[addr(99)] != nil {
		t.Fatalf("our own ID was stored")
	}
	near := tb.closest(idx(6), 3)
	if len(near) != 3 || near[0].ID != idx(6) || compareDistance(near[1].ID, near[2].ID, idx(6)) > 0 {
		t.Fatalf("closest(6) = %v", near)
	}
}

// TestStoreBounds: announces cannot make a node keep more than its bounds,
// and tokens are tied to the address they were given to.
func TestStoreBounds(t *testing.T) {
	now := time.Unix(1000, 0)
	s := newStore(now)
	for i := range maxPeersPer + 10 {
		s.add(id(1), netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 0, byte(i >> 8), byte(i)}), 1), now)
	}
	if got := len(s.get(id(1), 1<<20, now)); got != maxPeersPer {
		t.Errorf("%d peers kept for one torrent, want %d", got, maxPeersPer)
	}
	if got := len(s.get(id(1), 1<<20, now.Add(peerTTL+time.Second))); got != 0 {
		t.Errorf("%d peers kept past their time", got)
	}
	a, b := netip.MustParseAddr("10.0.0.1"), netip.MustParseAddr("10.0.0.2")
	tok := s.token(a, now)
	if !s.valid(tok, a, now.Add(tokenRotate+time.Minute)) {
		t.Errorf("a token of the previous period refused")
	}
	if s.valid(tok, b, now) {
		t.Errorf("a token accepted from another address")
	}
	if s.valid(tok, a, now.Add(3*tokenRotate)) {
		t.Errorf("a token accepted after two rotations")
	}
}

// TestQueriesAreRateLimited: one source gets maxPerSourcePerSec answers a
// second, all sources together maxQueriesPerSec, and the next second
// starts afresh.
func TestQueriesAreRateLimited(t *testing.T) {
	var l limiter
	now := time.Unix(5000, 0)
	a := netip.MustParseAddrPort("10.0.0.1:6881")
	n := 0
	for range 2 * maxPerSourcePerSec {
		if l.allow(a, now) {
			n++
		}
	}
	if n != maxPerSourcePerSec {
		t.Errorf("%d queries of one source answered in a second, want %d", n, maxPerSourcePerSec)
	}
	n = 0
	for i := range 2 * maxQueriesPerSec {
		if l.allow(netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 1, byte(i >> 8), byte(i)}), 6881), now) {
			n++
		}
	}
	if n != maxQueriesPerSec-maxPerSourcePerSec {
		t.Errorf("%d more queries answered in the same second, want %d", n, maxQueriesPerSec-maxPerSourcePerSec)
	}
	if !l.allow(a, now.Add(time.Second)) {
		t.Errorf("the next second refused a query")
	}
}
