package fetcher

import "time"

// SetChokeIntervals shortens t's rechoke and optimistic-unchoke periods so
// that tests see several reviews in seconds. Reviews still run once a
// maintenance tick (1 s).
func SetChokeIntervals(t *Torrent, rechoke, optimistic time.Duration) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.choke.rechokeEvery = rechoke
	t.choke.optimisticEvery = optimistic
}

// Unchoked reports how many of t's peers we unchoke: in total, holding a
// regular slot, and holding the optimistic unchoke.
func Unchoked(t *Torrent) (total, slots, optimistic int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for p := range t.peers {
		if !p.amChoking {
			total++
		}
		if p.ch.slot {
			slots++
		}
		if p.ch.optimistic {
			optimistic++
		}
	}
	return total, slots, optimistic
}
