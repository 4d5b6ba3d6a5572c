package fetcher

import (
	"github.com/torrentfs/torrentfs/fetcher/peerwire"
)

// The fast extension (BEP 6), our side as an uploader. We send HaveAll or
// HaveNone instead of a bitfield when they say it all (peer.go), Reject
// for every request we will not serve (upload.go, choke.go), and an
// allowed-fast set: up to allowedFastK pieces, derived from the peer's IP
// address as BEP 6 specifies, that the peer may request while we choke
// it. It lets a new peer that we choke get its first pieces, so that it
// has something to trade. We announce only pieces we have, each once,
// when the peer connects or later when we acquire one.
//
// A small torrent gets no allowed-fast set: when the set would cover more
// than a 1/allowedFastMinRatio of the pieces, choking would mean nothing
// to a peer that speaks the fast extension.
//
// Suggest Piece messages a peer sends are read and ignored (peer_read.go):
// what we fetch is chosen by our readers' deadlines and, in the
// background, in order; a peer's hint that a piece is in its cache never
// outranks a piece a reader waits for, and among pieces of equal urgency
// our order is the one readers will consume next.

const (
	// allowedFastK is the size of the allowed-fast set we give each peer.
	allowedFastK = 10
	// allowedFastMinRatio: a torrent needs this many times allowedFastK
	// pieces before we give out allowed-fast sets.
	allowedFastMinRatio = 4
)

// onPeerAddedLocked sets up our side of BEP 6 for a new peer: its
// allowed-fast set, announced for the pieces we have. Called by addPeer
// after our opening have messages are queued.
func (t *Torrent) onPeerAddedLocked(p *peer) {
	n := t.info.NumPieces()
	if !p.fast || n < allowedFastMinRatio*allowedFastK {
		return
	}
	p.ch.allowed = peerwire.AllowedFastSet(p.addr.Addr(), t.ih, n, allowedFastK)
	t.announceAllowedFastToLocked(p)
}

// announceAllowedFastLocked sends every peer the pieces of its
// allowed-fast set that we have acquired since.
func (t *Torrent) announceAllowedFastLocked() {
	if t.haveCount == 0 {
		return
	}
	for p := range t.peers {
		t.announceAllowedFastToLocked(p)
	}
}

func (t *Torrent) announceAllowedFastToLocked(p *peer) {
	for j, i := range p.ch.allowed {
		bit := uint32(1) << j
		if p.ch.announced&bit != 0 || !t.have.Has(int(i)) {
			continue
		}
		p.ch.announced |= bit
		if p.hasLocked(int(i)) {
			continue // it has the piece: no use telling it; announced counts it
		}
		p.queue(&peerwire.Message{ID: peerwire.AllowedFast, Index: i})
	}
}
