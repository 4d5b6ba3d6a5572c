package fetcher

import (
	"context"
	"fmt"
	"log/slog"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/torrentfs/torrentfs/fetcher/peerwire"
	"github.com/torrentfs/torrentfs/metainfo"
)

// Torrent is one torrent of a Client: its pieces, peers and readers.
type Torrent struct {
	c       *Client
	mi      *metainfo.MetaInfo
	info    *metainfo.Info
	ih      metainfo.InfoHash
	log     *slog.Logger
	storage Storage
	bufPool sync.Pool // *[]byte of info.PieceLength bytes

	kick    chan struct{} // wakes the maintenance loop to dial (cap 1)
	refill  chan struct{} // wakes it to refill pipelines: the in-flight budget has room (cap 1)
	blocked chan struct{} // wakes it to watch for late blocks: a read started waiting (cap 1)
	ann     announcer

	// Transfer totals for trackers.
	uploaded, downloaded atomic.Int64

	mu sync.Mutex // guards everything below, and every peer's protocol state

	have      peerwire.Bits
	haveCount int
	pieces    map[int]*pieceState          // being downloaded or verified
	waiters   map[int]*waiter              // readers blocked on a piece; those pieces are wanted now
	unstored  map[int][]byte               // verified pieces on their way to storage, served from memory
	memPieces map[int][]byte               // verified pieces storage refused, served from memory
	memOrder  []int                        // memPieces in insertion order
	wants     map[*Reader]readerWants      // what each reader wants next
	wantList  []want                       // merged wants by deadline; valid unless wantsDirty
	dueBy     map[int]time.Time            // each wanted piece's deadline; rebuilt with wantList
	wantDirty bool                         //
	bgFrom    int                          // background fetch: pieces before it are exhausted
	pickFrom  int                          // wantList entries before it are exhausted (see exhaustedLocked)
	peers     map[*peer]struct{}           // connected, after handshake
	known     map[netip.AddrPort]*peerAddr // every address we heard of
	dialing   int                          // dials in progress
	bestRate  float64                      // the fastest peer's rate at the last review
	choke     choker                       // who we unchoke (choke.go)
	closed    bool
}

// peerAddr is what we know of an address. Guarded by Torrent.mu.
type peerAddr struct {
	connected bool
	dialing   bool
	failures  int
	nextTry   time.Time
	banned    bool
}

// maxMemPieces bounds pieces kept in memory when storage refuses them.
const maxMemPieces = 16

func newTorrent(ctx context.Context, c *Client, m *metainfo.MetaInfo) (*Torrent, error) {
	info := m.Info
	t := &Torrent{
		c:         c,
		mi:        m,
		info:      info,
		ih:        m.InfoHash,
		log:       c.log.With("torrent", info.Name),
		storage:   c.opts.Storage,
		kick:      make(chan struct{}, 1),
		blocked:   make(chan struct{}, 1),
		refill:    make(chan struct{}, 1),
		have:      peerwire.NewBitfield(info.NumPieces()),
		pieces:    map[int]*pieceState{},
		waiters:   map[int]*waiter{},
		unstored:  map[int][]byte{},
		memPieces: map[int][]byte{},
		wants:     map[*Reader]readerWants{},
		peers:     map[*peer]struct{}{},
		known:     map[netip.AddrPort]*peerAddr{},
	}
	plen := int(info.PieceLength)
	t.bufPool.New = func() any { b := make([]byte, plen); return &b }
	held, err := t.storage.Pieces(ctx, t.ih)
	if err != nil {
		return nil, fmt.Errorf("fetcher: reading what the cache holds for %s: %w", t.ih, err)
	}
	for _, i := range held {
		if i >= 0 && i < info.NumPieces() && !t.have.Has(i) {
			t.have.Set(i)
			t.haveCount++
		}
	}
	t.log.Info("torrent added", "infohash", t.ih.String(), "pieces", info.NumPieces(), "cached", t.haveCount)
	return t, nil
}

// start launches the torrent's goroutines. They end when the client closes.
func (t *Torrent) start() {
	ctx := t.c.lifetime()
	t.c.wg.Go(func() { t.maintainLoop(ctx) })
	if !t.c.opts.DisableTrackers && len(t.mi.Trackers()) > 0 {
		t.c.wg.Go(func() { t.announceLoop(ctx) })
	}
	if t.c.opts.DHT != nil && !t.info.Private {
		t.c.wg.Go(func() {
			dhtLoop(ctx, t.c.opts.DHT, t.ih, t.c.port, t.log, func(ps []netip.AddrPort) { t.AddPeers(ps...) })
		})
	}
	t.startWebseeds(ctx)
}

// InfoHash is the torrent's info hash.
func (t *Torrent) InfoHash() metainfo.InfoHash { return t.ih }

// MetaInfo is the torrent's metainfo.
func (t *Torrent) MetaInfo() *metainfo.MetaInfo { return t.mi }

// AddPeers adds addresses to connect to.
func (t *Torrent) AddPeers(addrs ...netip.AddrPort) {
	t.mu.Lock()
	for _, a := range addrs {
		a = netip.AddrPortFrom(a.Addr().Unmap(), a.Port())
		if !a.IsValid() || a.Port() == 0 {
			continue
		}
		if _, ok := t.known[a]; !ok {
			t.known[a] = &peerAddr{}
		}
	}
	t.mu.Unlock()
	t.wake()
}

func (t *Torrent) wake() {
	select {
	case t.kick <- struct{}{}:
	default:
	}
}

// Stats is a snapshot of a torrent's state.
type Stats struct {
	Pieces, HavePieces, Peers int
	Downloaded, Uploaded      int64
}

// Stats returns a snapshot of the torrent's state.
func (t *Torrent) Stats() Stats {
	t.mu.Lock()
	defer t.mu.Unlock()
	return Stats{
		Pieces:     t.info.NumPieces(),
		HavePieces: t.haveCount,
		Peers:      len(t.peers),
		Downloaded: t.downloaded.Load(),
		Uploaded:   t.uploaded.Load(),
	}
}

// closePeers disconnects every peer; their goroutines then end.
func (t *Torrent) closePeers() {
	t.mu.Lock()
	t.closed = true
	for p := range t.peers {
		p.conn.Close()
	}
	t.mu.Unlock()
}

// haveLocked reports whether piece i is verified and available.
func (t *Torrent) haveLocked(i int) bool { return t.have.Has(i) }

// waiter is readers blocked on one piece. Guarded by Torrent.mu.
type waiter struct {
	ch    chan struct{} // closed when the piece is had
	since time.Time     // the piece is wanted from then on, whatever the windows say
	n     int           // reads waiting; the waiter goes when the last gives up
}

// addWaiterLocked registers a read waiting for piece i and returns a
// channel closed when the piece is had. A piece that somebody waits for
// stays wanted, even if the reader's window moved on.
func (t *Torrent) addWaiterLocked(i int, now time.Time) chan struct{} {
	w, ok := t.waiters[i]
	if !ok {
		w = &waiter{ch: make(chan struct{}), since: now}
		t.waiters[i] = w
		t.wantDirty = true
		select {
		case t.blocked <- struct{}{}:
		default:
		}
	}
	w.n++
	return w.ch
}

// dropWaiterLocked unregisters a read that stopped waiting for piece i
// before it arrived.
func (t *Torrent) dropWaiterLocked(i int) {
	if w, ok := t.waiters[i]; ok {
		if w.n--; w.n <= 0 {
			delete(t.waiters, i)
			t.wantDirty = true
		}
	}
}

func (t *Torrent) getBuf(size int) []byte {
	b := t.bufPool.Get().(*[]byte)
	return (*b)[:size]
}

func (t *Torrent) putBuf(b []byte) {
	b = b[:cap(b)]
	t.bufPool.Put(&b)
}
