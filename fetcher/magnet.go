package fetcher

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/torrentfs/torrentfs/metainfo"
)

// Resolution limits.
const (
	// magnetMaxConns bounds connections (and dials) open at once while
	// resolving a magnet.
	magnetMaxConns = 8
	// magnetFetchers bounds peers fetching the metadata at once: each
	// fetches every piece by itself, so a wrong info dictionary is pinned on
	// the one peer that sent it, and memory stays under
	// magnetFetchers·MaxMetadataSize.
	magnetFetchers = 3
	// magnetPeerTimeout drops a peer that sends nothing for this long.
	magnetPeerTimeout = 20 * time.Second
	// magnetPipeline is how many metadata pieces we ask one peer for at once.
	magnetPipeline = 4
	// magnetRetryMin and magnetRetryMax bound the wait before dialing a
	// peer again that failed (unreachable, or without the metadata yet); it
	// doubles with each failure. Peers that sent bad metadata are not
	// tried again.
	magnetRetryMin = time.Second
	magnetRetryMax = 30 * time.Second
)

// ErrNoPeerSources is returned by ResolveMagnet for a magnet without
// trackers (or with trackers turned off) and without x.pe peers, when the
// client has no DHT either: there is nobody to ask.
var ErrNoPeerSources = errors.New("fetcher: magnet names no trackers and no peers")

// MagnetProgress is what ResolveMagnet has found so far.
type MagnetProgress struct {
	TrackersAnswered int // tracker announces that answered
	TrackersFailed   int // tracker announces that failed
	PeersFound       int // distinct peer addresses from trackers, the DHT and x.pe
	PeersConnected   int // peers connected now (handshakes done)
	PeersTried       int // handshakes completed over the whole resolution
	PeersWithMeta    int // peers that offered the metadata (ut_metadata and a sane metadata_size)
	Rejected         int // peers dropped for bad metadata: wrong hash, absurd size, broken BEP 9 messages
	MetadataSize     int64
	MetadataBytes    int64 // received by the fetch closest to done
}

// MagnetError is ResolveMagnet's error when it gives up: its ctx ended (Err
// wraps ctx.Err()), and Progress tells what was found by then.
type MagnetError struct {
	InfoHash metainfo.InfoHash
	Progress MagnetProgress
	Err      error
}

func (e *MagnetError) Error() string {
	return fmt.Sprintf("fetcher: no metadata for magnet %s: %s: %v", e.InfoHash, e.Progress.summary(), e.Err)
}

func (e *MagnetError) Unwrap() error { return e.Err }

// summary says in words what was found.
func (p MagnetProgress) summary() string {
	trackers := ""
	if p.TrackersAnswered+p.TrackersFailed > 0 {
		trackers = fmt.Sprintf(" (%d tracker announces answered, %d failed)", p.TrackersAnswered, p.TrackersFailed)
	}
	switch {
	case p.PeersFound == 0:
		return "no peers found" + trackers
	case p.PeersTried == 0:
		return fmt.Sprintf("%d peers found, none could be connected%s", p.PeersFound, trackers)
	case p.PeersWithMeta == 0 && p.Rejected == 0:
		return fmt.Sprintf("%d peers found, %d connected, none offered the metadata%s", p.PeersFound, p.PeersTried, trackers)
	default:
		s := fmt.Sprintf("%d peers found, %d connected, %d offered the metadata, %d sent bad metadata",
			p.PeersFound, p.PeersTried, p.PeersWithMeta, p.Rejected)
		if p.MetadataSize > 0 {
			s += fmt.Sprintf(", got %d of %d bytes", p.MetadataBytes, p.MetadataSize)
		}
		return s + trackers
	}
}

// ResolveMagnet fetches the info dictionary of m's torrent from peers
// (BEP 9 over BEP 10), found through m's trackers (announced with our
// port and left=1) and its x.pe addresses. It checks the dictionary's
// SHA-1 against the info hash, dropping any peer that sent another, and
// returns a MetaInfo: Info, InfoHash, InfoBytes, the trackers as
// AnnounceList with one tier each (as libtorrent and BEP 12 readers treat
// a magnet's tr= list: every tracker is announced to) and Announce the
// first of them, and the web seeds as URLList.
//
// progress, if not nil, is called with what has been found each time it
// changes, from the calling goroutine. ResolveMagnet returns when it has
// the metadata, when ctx ends (a *MagnetError wrapping ctx.Err() that says
// what was found), or when the client closes (ErrClosed). Every connection
// and goroutine it started has ended by then. Incoming peers for the info
// hash are refused until the torrent is added.
func (c *Client) ResolveMagnet(ctx context.Context, m *metainfo.Magnet, progress func(MagnetProgress)) (*metainfo.MetaInfo, error) {
	if m == nil {
		return nil, errors.New("fetcher: ResolveMagnet: nil magnet")
	}
	useTrackers := !c.opts.DisableTrackers && len(m.Trackers) > 0
	if !useTrackers && len(m.Peers) == 0 && c.opts.DHT == nil {
		return nil, fmt.Errorf("%w: %s", ErrNoPeerSources, m.InfoHash)
	}
	select {
	case <-c.done:
		return nil, ErrClosed
	default:
	}
	ctx, cancel := context.WithCancel(ctx)
	stopOnClose := context.AfterFunc(c.lifetime(), cancel)
	r := &resolver{
		c:        c,
		ih:       m.InfoHash,
		log:      c.log.With("magnet", m.InfoHash.String()),
		wake:     make(chan struct{}, 1),
		result:   make(chan []byte, 1),
		slots:    make(chan struct{}, magnetFetchers),
		known:    map[netip.AddrPort]bool{},
		fetched:  map[*magnetPeer]int64{},
		tries:    map[netip.AddrPort]int{},
		finished: make(chan struct{}),
	}
	var wg sync.WaitGroup
	defer func() {
		close(r.finished)
		cancel()
		stopOnClose()
		wg.Wait()
	}()
	if useTrackers {
		for _, u := range m.Trackers {
			wg.Go(func() { r.announceLoop(ctx, u) })
		}
	}
	wg.Go(func() { r.addMagnetPeers(ctx, m.Peers) })
	if c.opts.DHT != nil {
		wg.Go(func() { dhtLoop(ctx, c.opts.DHT, m.InfoHash, c.port, r.log, r.addPeers) })
	}
	raw, err := r.run(ctx, &wg, progress)
	if err != nil {
		r.gaveUp.Store(true) // trackers hear "stopped"
		select {
		case <-c.done:
			return nil, ErrClosed
		default:
		}
		return nil, err
	}
	mi, err := m.MetaInfo(raw) // checks the hash again, parses, adds trackers and web seeds
	if err != nil {
		return nil, fmt.Errorf("fetcher: magnet %s: the info dictionary matches the info hash but is not valid: %w", m.InfoHash, err)
	}
	return mi, nil
}

// resolver is one ResolveMagnet call: the loop that dials peers (run, in
// the caller's goroutine) and the goroutines that find and fetch from them.
type resolver struct {
	c      *Client
	ih     metainfo.InfoHash
	log    *slog.Logger
	wake   chan struct{} // cap 1: the state below changed
	result chan []byte   // cap 1: a verified info dictionary
	slots  chan struct{} // a token per peer fetching the metadata
	mu     sync.Mutex    // guards known, pending, active, prog, fetched
	known  map[netip.AddrPort]bool
	// pending are found addresses not yet dialed, in order found.
	pending []netip.AddrPort
	active  int                    // peer goroutines running
	tries   map[netip.AddrPort]int // connection attempts per address
	prog    MagnetProgress
	fetched map[*magnetPeer]int64 // bytes received per fetching peer

	gaveUp   atomic.Bool   // resolution failed; valid once finished is closed
	finished chan struct{} // closed when the outcome is known, before waiting for goroutines
}

func (r *resolver) poke() {
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

// update changes the progress under r.mu and wakes the loop.
func (r *resolver) update(f func(p *MagnetProgress)) {
	r.mu.Lock()
	f(&r.prog)
	r.mu.Unlock()
	r.poke()
}

// addPeers records addresses to dial.
func (r *resolver) addPeers(addrs []netip.AddrPort) {
	r.mu.Lock()
	for _, a := range addrs {
		a = netip.AddrPortFrom(a.Addr().Unmap(), a.Port())
		if !a.IsValid() || a.Port() == 0 || r.known[a] {
			continue
		}
		if a.Port() == r.c.port && r.c.listensOn(a.Addr()) {
			continue // ourselves, as trackers list us
		}
		r.known[a] = true
		r.pending = append(r.pending, a)
		r.prog.PeersFound++
	}
	r.mu.Unlock()
	r.poke()
}

// retryLater queues a again after a wait that grows with tries, unless
// ctx ends first.
func (r *resolver) retryLater(ctx context.Context, a netip.AddrPort, tries int) {
	wait := magnetRetryMax
	if tries < 6 {
		wait = min(magnetRetryMin<<(tries-1), magnetRetryMax)
	}
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
		return
	}
	r.mu.Lock()
	r.pending = append(r.pending, a)
	r.mu.Unlock()
	r.poke()
}

// run dials found peers, at most magnetMaxConns at once, until one of
// them delivers verified metadata or ctx ends.
func (r *resolver) run(ctx context.Context, wg *sync.WaitGroup, progress func(MagnetProgress)) ([]byte, error) {
	var last MagnetProgress
	first := true
	for {
		r.mu.Lock()
		for r.active < magnetMaxConns && len(r.pending) > 0 {
			a := r.pending[0]
			r.pending = r.pending[1:]
			r.active++
			wg.Go(func() {
				retry := r.runPeer(ctx, a)
				r.mu.Lock()
				r.active--
				tries := r.tries[a] + 1
				r.tries[a] = tries
				r.mu.Unlock()
				r.poke()
				if retry {
					r.retryLater(ctx, a, tries)
				}
			})
		}
		r.mu.Unlock()
		p := r.snapshot()
		if progress != nil && (first || p != last) {
			progress(p)
		}
		first, last = false, p
		select {
		case raw := <-r.result:
			if p := r.snapshot(); progress != nil && p != last {
				progress(p)
			}
			return raw, nil
		case <-ctx.Done():
			return nil, &MagnetError{InfoHash: r.ih, Progress: r.snapshot(), Err: ctx.Err()}
		case <-r.wake:
		}
	}
}

// snapshot is the progress now.
func (r *resolver) snapshot() MagnetProgress {
	r.mu.Lock()
	defer r.mu.Unlock()
	p := r.prog
	for _, n := range r.fetched {
		p.MetadataBytes = max(p.MetadataBytes, n)
	}
	return p
}
