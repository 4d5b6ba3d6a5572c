package fetcher

import (
	"fmt"
	"net/netip"
	"slices"
	"time"
)

// Peer exchange (BEP 11, ut_pex). Never on private torrents (BEP 27): we
// do not advertise it there (extension.go), pexTickLocked sends nothing,
// and a peer that sends us ut_pex anyway is disconnected (extension.go).
//
// Sending: at most once every pexEvery per peer, we tell each peer that
// speaks ut_pex which of our connected peers' listen addresses are new
// (added) and which are gone (dropped) since our last message to it; the
// first message lists the connected set. Only peers whose listen address
// we know are reported: those we dialled, and incoming ones whose
// extension handshake gave their port ("p"). A message carries at most
// pexMaxSend of each; the rest follows in the next one.
//
// Receiving: added peers become known addresses, which dialSome connects
// to within Options.MaxPeers. Dropped peers are ignored: that the sender
// lost a peer says little about whether we can reach it. A peer's messages
// that come sooner than pexMinGap after the last one taken are ignored; a
// peer that keeps doing so (more than pexMaxIgnored in a row) is
// disconnected.

const (
	// pexEvery is how often we send each peer a ut_pex message at most
	// (BEP 11: no more than once a minute).
	pexEvery = time.Minute
	// pexMaxIgnored is how many too-early messages in a row a peer may send
	// before it is disconnected.
	pexMaxIgnored = 10
	// pexMaxKnown stops peer exchange from adding addresses once the
	// torrent knows this many.
	pexMaxKnown = 2000
)

// pexPeerState is our peer exchange with one peer. Guarded by Torrent.mu.
type pexPeerState struct {
	lastSent time.Time               // our last message to them; zero before the first
	told     map[netip.AddrPort]bool // the listen addresses we told them are connected
	lastRecv time.Time               // their last message we took; zero before the first
	ignored  int                     // their messages ignored in a row for coming too soon
	learned  int                     // addresses they told us that were new to us
}

// pexInterval is how often each peer gets a message from us at most.
func (t *Torrent) pexInterval() time.Duration {
	if d := t.c.opts.pexInterval; d > 0 {
		return d
	}
	return pexEvery
}

// pexMinGap is how soon after their last message a peer's next one is
// taken: three quarters of the interval (45 s by default), leaving room
// for clocks and queues.
func (t *Torrent) pexMinGap() time.Duration { return t.pexInterval() * 3 / 4 }

// handlePEXLocked reads a peer's ut_pex message and adds the peers it
// names to the addresses we know.
func (t *Torrent) handlePEXLocked(p *peer, payload []byte) error {
	if t.info.Private {
		return fmt.Errorf("%w: peer exchange on a private torrent", errProtocol)
	}
	now := time.Now()
	if !p.pex.lastRecv.IsZero() && now.Sub(p.pex.lastRecv) < t.pexMinGap() {
		p.pex.ignored++
		if p.pex.ignored > pexMaxIgnored {
			return fmt.Errorf("%w: %d peer exchange messages in %v", errProtocol, p.pex.ignored+1, now.Sub(p.pex.lastRecv).Round(time.Millisecond))
		}
		p.log.Debug("ignoring early peer exchange message", "since", now.Sub(p.pex.lastRecv))
		return nil
	}
	msg, err := parsePEX(payload)
	if err != nil {
		return err
	}
	p.pex.lastRecv = now
	p.pex.ignored = 0
	connected := t.connectedListenAddrsLocked()
	added := 0
	for _, e := range msg.Added {
		a := e.Addr
		if len(t.known) >= pexMaxKnown {
			break
		}
		if t.isOurAddr(a) || connected[a] != nil {
			continue
		}
		if _, ok := t.known[a]; ok {
			continue
		}
		t.known[a] = &peerAddr{}
		added++
	}
	p.pex.learned += added
	p.log.Debug("peer exchange", "added", len(msg.Added), "dropped", len(msg.Dropped), "new", added)
	if added > 0 {
		t.wake()
	}
	return nil
}

// pexTickLocked sends each peer that speaks ut_pex the changes in our
// connected set since our last message to it, when one is due.
func (t *Torrent) pexTickLocked(now time.Time) {
	if t.info.Private {
		return // BEP 27
	}
	interval := t.pexInterval()
	var connected map[netip.AddrPort]*peer
	for p := range t.peers {
		if p.gone {
			continue
		}
		if _, ok := p.extIDs[extPEX]; !ok {
			continue
		}
		if !p.pex.lastSent.IsZero() && now.Sub(p.pex.lastSent) < interval {
			continue
		}
		if connected == nil {
			connected = t.connectedListenAddrsLocked()
		}
		msg, ok := t.pexDiffLocked(p, connected)
		if !ok {
			continue // nothing new: the next change goes out at once
		}
		if p.sendExtended(extPEX, encodePEX(msg)) {
			p.pex.lastSent = now
		}
	}
}

// pexDiffLocked builds the next message to p from the connected set, and
// records it as told. It reports false when there is nothing to tell.
func (t *Torrent) pexDiffLocked(p *peer, connected map[netip.AddrPort]*peer) (pexMessage, bool) {
	var msg pexMessage
	self, _ := p.listenAddr()
	for a, q := range connected {
		if q == p || a == self || p.pex.told[a] {
			continue
		}
		var f byte
		if !q.incoming {
			f |= pexFlagOutgoing
		}
		if q.haveAll || q.bitfield.Count() == t.info.NumPieces() {
			f |= pexFlagSeed
		}
		msg.Added = append(msg.Added, pexPeer{Addr: a, Flags: f})
	}
	for a := range p.pex.told {
		if connected[a] == nil {
			msg.Dropped = append(msg.Dropped, a)
		}
	}
	if len(msg.Added) == 0 && len(msg.Dropped) == 0 {
		return msg, false
	}
	// Deterministic order, so that what is left for the next message is
	// predictable.
	slices.SortFunc(msg.Added, func(x, y pexPeer) int { return x.Addr.Compare(y.Addr) })
	slices.SortFunc(msg.Dropped, func(x, y netip.AddrPort) int { return x.Compare(y) })
	msg.Added = msg.Added[:min(len(msg.Added), pexMaxSend)]
	msg.Dropped = msg.Dropped[:min(len(msg.Dropped), pexMaxSend)]
	if p.pex.told == nil {
		p.pex.told = map[netip.AddrPort]bool{}
	}
	for _, e := range msg.Added {
		p.pex.told[e.Addr] = true
	}
	for _, a := range msg.Dropped {
		delete(p.pex.told, a)
	}
	return msg, true
}

// connectedListenAddrsLocked maps the listen address of every connected
// peer whose listen address we know to that peer.
func (t *Torrent) connectedListenAddrsLocked() map[netip.AddrPort]*peer {
	m := make(map[netip.AddrPort]*peer, len(t.peers))
	for q := range t.peers {
		if a, ok := q.listenAddr(); ok && !q.gone {
			m[a] = q
		}
	}
	return m
}

// listenAddr is where p accepts connections, if we know: the address we
// dialled, or for a peer that connected to us, its address with the port
// its extension handshake gave. Guarded by Torrent.mu.
func (p *peer) listenAddr() (netip.AddrPort, bool) {
	if !p.incoming {
		return p.addr, p.addr.IsValid()
	}
	if p.listenPort == 0 || !p.addr.IsValid() {
		return netip.AddrPort{}, false
	}
	return netip.AddrPortFrom(p.addr.Addr().Unmap(), p.listenPort), true
}
