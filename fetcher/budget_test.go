package fetcher

import (
	"testing"
	"time"
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
		tor.inflight = c.inflight
		if got := tor.roomForLocked(c.size, c.deadline, now); got != c.want {
			t.Errorf("%s: roomForLocked(%d MiB with %d MiB in flight) = %v, want %v",
				c.name, c.size/mib, c.inflight/mib, got, c.want)
		}
	}
}
