package fetcher

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/torrentfs/torrentfs/fetcher/tracker"
	"github.com/torrentfs/torrentfs/metainfo"
)

// Version identifies this build to peers: in the peer id prefix and in the
// extension handshake.
const Version = "0.1.0"

// storeWorkers is how many verified pieces are written to storage at once;
// a store that batches concurrent writes commits them together.
const storeWorkers = 2

// peerIDPrefix is the Azureus-style client id: TF for torrentfs, version 0100.
const peerIDPrefix = "-TF0100-"

// Client is a BitTorrent client for any number of torrents. It listens for
// incoming peers on one port.
type Client struct {
	opts     Options
	log      *slog.Logger
	ln       net.Listener
	bind     binder // outgoing connections come from the listening address (bind.go)
	peerID   [20]byte
	port     uint16
	key      uint32 // tracker key: lets a tracker recognise us across IP changes
	hashQ    chan hashJob
	storeQ   chan storeJob
	pending  atomic.Int64    // hash and store jobs queued or running
	pins     pinner          // opts.Storage, if it supports pins
	trackers *tracker.Client // shared, so UDP connection ids are reused
	up       *rateLimiter    // Options.UploadRateLimit over all peers; nil when unlimited

	// inflight is the bytes of piece buffers all torrents hold, against
	// Options.MaxInFlightBytes (see Torrent.roomForLocked). starved is set
	// when a torrent found no room; the next release wakes every torrent
	// to try again.
	inflight atomic.Int64
	starved  atomic.Bool

	done      chan struct{} // closed by Close: every goroutine watches it
	closeOnce sync.Once
	wg        sync.WaitGroup // every goroutine the client owns

	mu       sync.Mutex // guards torrents
	torrents map[metainfo.InfoHash]*Torrent
}

// New starts a client listening on opts.ListenAddr.
func New(opts Options) (*Client, error) {
	opts = opts.withDefaults()
	if opts.Storage == nil {
		return nil, errors.New("fetcher: Options.Storage is required")
	}
	ln, err := net.Listen("tcp", opts.ListenAddr)
	if err != nil {
		return nil, fmt.Errorf("fetcher: listen for peers: %w", err)
	}
	bind := newBinder(ln)
	if opts.HTTPClient == nil {
		opts.HTTPClient = bind.httpClient()
	}
	c := &Client{
		opts:     opts,
		log:      opts.Logger,
		ln:       ln,
		bind:     bind,
		peerID:   opts.PeerID,
		port:     uint16(ln.Addr().(*net.TCPAddr).Port),
		hashQ:    make(chan hashJob, 4*opts.HashWorkers),
		storeQ:   make(chan storeJob, storeWorkers),
		done:     make(chan struct{}),
		torrents: map[metainfo.InfoHash]*Torrent{},
		up:       newRateLimiter(opts.UploadRateLimit),
		trackers: tracker.NewClient(tracker.Options{HTTPClient: opts.HTTPClient, Dial: bind.dialContext, Logger: opts.Logger.With("pkg", "tracker")}),
	}
	c.pins, _ = opts.Storage.(pinner)
	if c.peerID == ([20]byte{}) {
		copy(c.peerID[:], peerIDPrefix)
		rand.Read(c.peerID[len(peerIDPrefix):])
	}
	var k [4]byte
	rand.Read(k[:])
	c.key = binary.BigEndian.Uint32(k[:])
	ctx := c.lifetime()
	for range opts.HashWorkers {
		c.wg.Go(func() { c.hashWorker(ctx) })
	}
	for range storeWorkers {
		c.wg.Go(func() { c.storeWorker(ctx) })
	}
	c.wg.Go(func() { c.acceptLoop(ctx) })
	c.log.Info("listening for peers", "addr", ln.Addr().String())
	return c, nil
}

// lifetime is a context that ends when the client closes.
func (c *Client) lifetime() context.Context { return lifetime{c.done} }

// Addr is the address peers connect to.
func (c *Client) Addr() net.Addr { return c.ln.Addr() }

// PeerID is the client's peer id.
func (c *Client) PeerID() [20]byte { return c.peerID }

// AddTorrent starts downloading and seeding m. Nothing is fetched until a
// reader asks for it. Pieces already in storage are known at once.
func (c *Client) AddTorrent(ctx context.Context, m *metainfo.MetaInfo) (*Torrent, error) {
	t, err := newTorrent(ctx, c, m)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	select {
	case <-c.done:
		c.mu.Unlock()
		return nil, ErrClosed
	default:
	}
	if _, ok := c.torrents[m.InfoHash]; ok {
		c.mu.Unlock()
		return nil, fmt.Errorf("%w: %s", ErrDuplicateTorrent, m.InfoHash)
	}
	c.torrents[m.InfoHash] = t
	c.mu.Unlock()
	t.start()
	return t, nil
}

// releaseBudget returns n bytes to the in-flight budget and, if a torrent
// went without for want of it, has every torrent but from refill its
// peers' pipelines (from, whose lock the caller may hold, does so itself).
func (c *Client) releaseBudget(from *Torrent, n int64) {
	c.inflight.Add(-n)
	if !c.starved.Swap(false) {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, t := range c.torrents {
		if t != from {
			select {
			case t.refill <- struct{}{}:
			default:
			}
		}
	}
}

func (c *Client) torrent(ih [20]byte) *Torrent {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.torrents[ih]
}

// Close announces "stopped" to trackers, disconnects every peer, stops
// every goroutine and waits for them. It does not close the Storage.
func (c *Client) Close() error {
	c.closeOnce.Do(func() {
		c.mu.Lock()
		ts := make([]*Torrent, 0, len(c.torrents))
		for _, t := range c.torrents {
			ts = append(ts, t)
		}
		c.mu.Unlock()
		var wg sync.WaitGroup
		for _, t := range ts {
			wg.Go(t.announceStopped)
		}
		wg.Wait()
		c.ln.Close()
		for _, t := range ts {
			t.closePeers()
		}
		c.drain(drainTimeout)
		close(c.done)
	})
	c.wg.Wait()
	return nil
}

// drainTimeout bounds how long Close waits for pieces already received to
// be checked and stored.
const drainTimeout = 2 * time.Second

// drain waits, up to d, until no piece is waiting to be hash-checked or
// stored, so that what was downloaded before Close reaches the cache.
func (c *Client) drain(d time.Duration) {
	deadline := time.Now().Add(d)
	for c.pending.Load() > 0 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
}

// listensOn reports whether our listener accepts connections to ip.
func (c *Client) listensOn(ip netip.Addr) bool {
	la, err := netip.ParseAddrPort(c.ln.Addr().String())
	if err != nil {
		return false
	}
	return la.Addr().IsUnspecified() || la.Addr().Unmap() == ip.Unmap()
}
