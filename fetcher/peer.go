package fetcher

import (
	"bufio"
	"context"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"time"

	"github.com/torrentfs/torrentfs/fetcher/peerwire"
)

const (
	// defaultMaxOut is a new peer's request pipeline depth; it then follows
	// the peer's measured rate.
	defaultMaxOut = 64
	// maxOutCap bounds any peer's pipeline when it states no reqq.
	maxOutCap = 500
	// maxUploadQueue bounds the requests a peer may have queued with us.
	maxUploadQueue = 256
	// keepaliveEvery: send a keep-alive after this much silence.
	keepaliveEvery = 90 * time.Second
	// silentTimeout: drop a peer that sent nothing for this long.
	silentTimeout = 3 * time.Minute
	// snubTimeout: a peer with requests outstanding that sent no block for
	// this long gets its requests taken back.
	snubTimeout = 15 * time.Second
	// writeTimeout bounds one write to a peer.
	writeTimeout = 60 * time.Second
)

type blockKey struct{ index, begin uint32 }

// peer is one connection to a remote peer of a Torrent.
type peer struct {
	t        *Torrent
	conn     net.Conn
	addr     netip.AddrPort
	id       [20]byte
	fast     bool // both sides set the fast extension bit
	extended bool // both sides set the extension protocol bit
	log      *slog.Logger
	done     chan struct{} // closed when the read loop ends

	// Guarded by t.mu.
	bitfield       peerwire.Bits
	haveAll        bool
	peerChoking    bool
	peerInterested bool
	amChoking      bool
	amInterested   bool
	out            map[blockKey]time.Time // our requests to them
	maxOut         int
	reqq           int // their stated request queue limit, 0 if unknown
	lastProgress   time.Time
	lastRecv       time.Time
	recvBytes      int64 // block bytes since the last rate update
	rate           float64
	latency        time.Duration // smoothed time from request to block
	hashFails      int
	allowedFast    map[uint32]bool
	extIDs         map[string]uint8 // their ids for the BEP 10 extensions we both speak
	gone           bool
	ch             peerChoke    // whether and why we unchoke them (choke.go, fastext.go)
	incoming       bool         // they connected to us: p.addr is not their listen address
	listenPort     uint16       // from their extension handshake's "p"; 0 if unknown
	pex            pexPeerState // peer exchange with them (pex.go)

	outMu   sync.Mutex // guards outBuf and uploads
	outBuf  []byte
	uploads []peerwire.Message // their requests we will serve, in order
	wakeW   chan struct{}      // wakes the write loop (cap 1)
}

func newPeer(t *Torrent, conn net.Conn, addr netip.AddrPort, hs peerwire.Handshake) *peer {
	ours := t.c.ourHandshake(t.ih)
	now := time.Now()
	return &peer{
		t:           t,
		conn:        conn,
		addr:        addr,
		id:          hs.PeerID,
		fast:        hs.Fast() && ours.Fast(),
		extended:    hs.Extended() && ours.Extended(),
		log:         t.log.With("peer", addr.String()),
		done:        make(chan struct{}),
		bitfield:    peerwire.NewBitfield(t.info.NumPieces()),
		peerChoking: true,
		amChoking:   true,
		out:         map[blockKey]time.Time{},
		maxOut:      defaultMaxOut,
		lastRecv:    now,
		allowedFast: map[uint32]bool{},
		extIDs:      map[string]uint8{},
		wakeW:       make(chan struct{}, 1),
	}
}

func (p *peer) hasLocked(i int) bool { return p.haveAll || p.bitfield.Has(i) }

// lateAfter is when a block requested from p counts as late: lateFactor
// times its latency, within [minLate, maxLate]; fresh if p has sent no
// block yet (see Torrent.freshLateAfterLocked). Guarded by Torrent.mu.
func (p *peer) lateAfter(fresh time.Duration) time.Duration {
	if p.latency == 0 {
		return fresh
	}
	return min(max(lateFactor*p.latency, minLate), maxLate)
}

// queue appends a message for the write loop. Safe with or without t.mu.
func (p *peer) queue(m *peerwire.Message) {
	p.outMu.Lock()
	p.outBuf = peerwire.AppendMessage(p.outBuf, m)
	p.outMu.Unlock()
	p.wakeWriter()
}

func (p *peer) wakeWriter() {
	select {
	case p.wakeW <- struct{}{}:
	default:
	}
}

// uploadBatch is how many requested blocks one write may carry.
const uploadBatch = 16

// writeLoop writes queued messages and serves queued uploads until the
// peer ends. Control messages go first; blocks are read from storage here,
// outside every lock, up to uploadBatch per write, as fast as the upload
// rate limit grants them. Waiting for the limit never holds back control
// messages (our requests, haves, chokes).
func (p *peer) writeLoop(ctx context.Context) {
	var buf, spare, scratch []byte
	var ups []peerwire.Message
	keepalive := time.NewTimer(keepaliveEvery)
	defer keepalive.Stop()
	paced := time.NewTimer(time.Hour) // fires when the rate limit grants more
	paced.Stop()
	defer paced.Stop()
	for {
		p.outMu.Lock()
		buf, p.outBuf = p.outBuf, spare[:0]
		n, wait := p.t.c.grantUpload(p.uploads[:min(len(p.uploads), uploadBatch)])
		ups = append(ups[:0], p.uploads[:n]...)
		p.uploads = p.uploads[n:]
		p.outMu.Unlock()
		for i := 0; i < len(ups); {
			run := ups[i : i+runLen(ups[i:])]
			i += len(run)
			if len(run) > 1 {
				out, err := p.t.appendRun(ctx, buf, run, &scratch)
				if err == nil {
					buf = out
					for _, up := range run {
						p.ch.sent.Add(int64(up.Length))
					}
					continue
				}
			}
			// One request, or a run that failed as a whole: block by block,
			// so that only the blocks that cannot be served are rejected.
			for _, up := range run {
				var err error
				if buf, err = p.t.appendBlock(ctx, buf, up); err != nil {
					p.log.Debug("cannot serve request", "index", up.Index, "err", err)
					if p.fast {
						buf = peerwire.AppendMessage(buf, &peerwire.Message{ID: peerwire.Reject, Index: up.Index, Begin: up.Begin, Length: up.Length})
					}
					continue
				}
				p.ch.sent.Add(int64(up.Length))
			}
		}
		if len(buf) == 0 {
			spare = buf
			var pacedC <-chan time.Time
			if wait > 0 {
				paced.Reset(wait)
				pacedC = paced.C
			}
			select {
			case <-p.wakeW:
				continue
			case <-pacedC:
				continue
			case <-keepalive.C:
				buf = peerwire.AppendMessage(buf, &peerwire.Message{Keepalive: true})
			case <-p.done:
				return
			case <-ctx.Done():
				return
			}
		}
		p.conn.SetWriteDeadline(time.Now().Add(writeTimeout))
		if _, err := p.conn.Write(buf); err != nil {
			p.log.Debug("write failed", "err", err)
			p.conn.Close()
			return
		}
		spare = buf
		keepalive.Reset(keepaliveEvery)
	}
}

// runPeer runs an established connection until it ends.
func (t *Torrent) runPeer(ctx context.Context, conn net.Conn, br *bufio.Reader, addr netip.AddrPort, hs peerwire.Handshake, incoming bool) {
	defer conn.Close()
	p := newPeer(t, conn, addr, hs)
	if !t.addPeer(p, incoming) {
		return
	}
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	var wg sync.WaitGroup
	wg.Go(func() { p.writeLoop(ctx) })
	err := p.readLoop(ctx, br)
	close(p.done)
	conn.Close()
	wg.Wait()
	t.removePeer(p, err)
}

// addPeer registers p and queues our opening messages. It refuses a peer
// over the limit, a duplicate, a banned address, or after close.
func (t *Torrent) addPeer(p *peer, incoming bool) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed || len(t.peers) >= t.c.opts.MaxPeers {
		return false
	}
	for q := range t.peers {
		if q.id == p.id {
			return false
		}
	}
	if incoming {
		if a := t.known[p.addr]; a != nil && a.banned {
			return false
		}
	}
	if a := t.known[p.addr]; a != nil {
		a.connected = true
	}
	t.peers[p] = struct{}{}
	p.incoming = incoming
	p.log.Debug("peer connected", "incoming", incoming, "fast", p.fast, "extended", p.extended)
	if p.extended {
		p.queue(t.extHandshakeMessage())
	}
	switch {
	case p.fast && t.haveCount == t.info.NumPieces():
		p.queue(&peerwire.Message{ID: peerwire.HaveAll})
	case p.fast && t.haveCount == 0:
		p.queue(&peerwire.Message{ID: peerwire.HaveNone})
	case t.haveCount > 0:
		p.queue(&peerwire.Message{ID: peerwire.Bitfield, Bitfield: t.have})
	}
	t.onPeerAddedLocked(p)
	return true
}

// removePeer forgets p and gives its outstanding requests to others.
func (t *Torrent) removePeer(p *peer, err error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	p.gone = true
	delete(t.peers, p)
	t.dropRequestsLocked(p)
	t.onPeerGoneLocked(p)
	if a := t.known[p.addr]; a != nil {
		a.connected = false
	}
	p.log.Debug("peer disconnected", "err", err)
	t.fillAllLocked(time.Now())
	if !t.closed {
		t.wake()
	}
}

// dropRequestsLocked forgets every request we have outstanding with p.
func (t *Torrent) dropRequestsLocked(p *peer) {
	for k := range p.out {
		if ps := t.pieces[int(k.index)]; ps != nil {
			ps.dropReq(int(k.begin)/peerwire.BlockSize, p)
		}
	}
	clear(p.out)
	t.freedLocked()
}
