package fetcher

import (
	"testing"
	"time"

	"github.com/torrentfs/torrentfs/metainfo"
)

// TestInFlightBudget checks who may start a piece when the in-flight
// budget is spent: readahead waits, urgent pieces go a quarter past it,
// the piece a read waits on up to twice it, and a piece larger than the
// whole budget still starts when nothing else is in flight.
func TestInFlightBudget(t *testing.T) {
	const mib = 1 << 20
	tor := &Torrent{c: &Client{opts: Options{MaxInFlightBytes: 16 * mib}}}
	now := time.Unix(1_000_000, 0)
	later := now.Add(10 * time.Second)
	soon := now.Add(urgentHorizon / 2)
	cases := []struct {
		name     string
		inflight int64
		size     int
		deadline time.Time
		want     bool
	}{
		{"readahead within the budget", 15 * mib, mib, later, true},
		{"readahead past the budget", 16 * mib, mib, later, false},
		{"background past the budget", 16 * mib, mib, time.Time{}, false},
		{"urgent a quarter past", 19 * mib, mib, soon, true},
		{"urgent beyond a quarter past", 20 * mib, mib, soon, false},
		{"due now up to twice", 31 * mib, mib, now, true},
		{"due now beyond twice", 32 * mib, mib, now, false},
		{"overdue counts as due now", 31 * mib, mib, now.Add(-time.Second), true},
		{"a piece larger than the budget, nothing in flight", 0, 64 * mib, later, true},
		{"a piece larger than the budget, something in flight", mib, 64 * mib, now, false},
	}
	for _, c := range cases {
		tor.c.inflight.Store(c.inflight)
		if got := tor.roomForLocked(c.size, c.deadline, now); got != c.want {
			t.Errorf("%s: roomForLocked(%d MiB with %d MiB in flight) = %v, want %v",
				c.name, c.size/mib, c.inflight/mib, got, c.want)
		}
	}
}

// TestInFlightBudgetIsShared checks that the budget is the client's: what
// one torrent holds leaves less for another, and when a torrent found no
// room, a release elsewhere wakes it to refill its peers.
func TestInFlightBudgetIsShared(t *testing.T) {
	const mib = 1 << 20
	c := &Client{opts: Options{MaxInFlightBytes: 16 * mib}, torrents: map[metainfo.InfoHash]*Torrent{}}
	a := &Torrent{c: c, refill: make(chan struct{}, 1)}
	b := &Torrent{c: c, refill: make(chan struct{}, 1)}
	c.torrents[metainfo.InfoHash{1}] = a
	c.torrents[metainfo.InfoHash{2}] = b
	now := time.Unix(1_000_000, 0)
	later := now.Add(10 * time.Second)

	c.inflight.Add(16 * mib) // a holds the whole budget
	if b.roomForLocked(mib, later, now) {
		t.Fatal("b may start readahead while a holds the whole budget")
	}
	c.releaseBudget(b, 0) // b's own release wakes the others, not b
	if len(b.refill) != 0 {
		t.Error("a release by b woke b")
	}
	if len(a.refill) != 1 {
		t.Error("a release by b did not wake a, after b had found no room")
	}
	<-a.refill
	if b.roomForLocked(mib, later, now) {
		t.Fatal("room appeared from nothing")
	}
	c.releaseBudget(a, mib)
	if len(b.refill) != 1 {
		t.Error("a's release did not wake b, which had found no room")
	}
	if len(a.refill) != 0 {
		t.Error("a's release woke a itself")
	}
	if !b.roomForLocked(mib, later, now) {
		t.Error("b still finds no room after a gave a MiB back")
	}
	<-b.refill
	c.releaseBudget(a, mib)
	if len(b.refill) != 0 {
		t.Error("a release woke b although nobody was starved")
	}
}
