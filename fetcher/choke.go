package fetcher

import (
	"time"

	"github.com/torrentfs/torrentfs/fetcher/peerwire"
)

// onInterestedLocked answers a peer that became interested. For now every
// interested peer is unchoked at once.
func (t *Torrent) onInterestedLocked(p *peer) {
	if p.amChoking {
		p.amChoking = false
		p.queue(&peerwire.Message{ID: peerwire.Unchoke})
	}
}

// chokeTickLocked reviews who is unchoked. For now nobody is choked again.
func (t *Torrent) chokeTickLocked(now time.Time) {}
