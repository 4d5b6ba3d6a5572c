package dht

import (
	"bytes"
	"math/bits"
	"net/netip"
	"slices"
	"time"
)

// bucketSize is K: how many nodes a bucket holds, and how many closest
// nodes a lookup settles on.
const bucketSize = 8

// maxFails is how many unanswered queries in a row drop a node.
const maxFails = 2

// table is the routing table: for each length of the prefix a node's ID
// shares with ours, up to bucketSize nodes. It does no locking; Server.mu
// guards it.
type table struct {
	self    [20]byte
	buckets [160][]*entry
	byAddr  map[netip.AddrPort]*entry
}

type entry struct {
	node
	seen  time.Time // last query or response from it
	fails int       // queries to it unanswered in a row
}

func newTable(self [20]byte) *table {
	return &table{self: self, byAddr: map[netip.AddrPort]*entry{}}
}

// bucketOf is the index of the bucket for id: the length of its common
// prefix with ours (159 at most; our own ID is never stored).
func (t *table) bucketOf(id [20]byte) int {
	for i := range 20 {
		if x := t.self[i] ^ id[i]; x != 0 {
			return i*8 + bits.LeadingZeros8(x)
		}
	}
	return 159
}

// seen records that n answered or queried us. A new node takes a place in
// its bucket if there is room, or the place of a node that stopped
// answering; otherwise it is left out (old, live nodes are the most
// reliable, BEP 5).
func (t *table) seen(n node, now time.Time) {
	if n.ID == t.self || !n.Addr.IsValid() {
		return
	}
	if e := t.byAddr[n.Addr]; e != nil {
		if e.ID != n.ID { // the address has a new ID: forget the old
			t.remove(e)
		} else {
			e.seen, e.fails = now, 0
			return
		}
	}
	bi := t.bucketOf(n.ID)
	b := t.buckets[bi]
	e := &entry{node: n, seen: now}
	if len(b) < bucketSize {
		t.buckets[bi] = append(b, e)
		t.byAddr[n.Addr] = e
		return
	}
	for i, old := range b {
		if old.fails > 0 {
			delete(t.byAddr, old.Addr)
			b[i] = e
			t.byAddr[n.Addr] = e
			return
		}
	}
}

// failed records that a query to addr went unanswered; after maxFails in a
// row the node is dropped.
func (t *table) failed(addr netip.AddrPort) {
	e := t.byAddr[addr]
	if e == nil {
		return
	}
	if e.fails++; e.fails >= maxFails {
		t.remove(e)
	}
}

func (t *table) remove(e *entry) {
	bi := t.bucketOf(e.ID)
	t.buckets[bi] = slices.DeleteFunc(t.buckets[bi], func(x *entry) bool { return x == e })
	delete(t.byAddr, e.Addr)
}

// closest returns up to n nodes nearest to target by XOR distance.
func (t *table) closest(target [20]byte, n int) []node {
	all := make([]node, 0, len(t.byAddr))
	for _, e := range t.byAddr {
		all = append(all, e.node)
	}
	sortByDistance(all, target)
	return all[:min(n, len(all))]
}

func (t *table) len() int { return len(t.byAddr) }

// sortByDistance orders nodes by XOR distance from target, nearest first.
func sortByDistance(ns []node, target [20]byte) {
	slices.SortFunc(ns, func(a, b node) int { return compareDistance(a.ID, b.ID, target) })
}

// compareDistance compares a's and b's XOR distances from target.
func compareDistance(a, b, target [20]byte) int {
	var da, db [20]byte
	for i := range 20 {
		da[i], db[i] = a[i]^target[i], b[i]^target[i]
	}
	return bytes.Compare(da[:], db[:])
}
