// Package testswarm provides an in-process HTTP BitTorrent tracker for tests
// and the demo. It listens on loopback addresses only in our tests and never
// reaches out to the network itself.
package testswarm

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"sync"
	"time"
)

// DefaultPeerTTL is how long an announced peer stays listed without
// announcing again.
const DefaultPeerTTL = 5 * time.Minute

// DefaultInterval is the announce interval the tracker asks clients to use.
const DefaultInterval = 30 * time.Second

// ErrClosed is returned by Start after Close, or by a second Start.
var ErrClosed = errors.New("testswarm: tracker closed or already started")

// Tracker is a minimal HTTP tracker (BEP 3 with compact peers, BEP 23). It
// serves /announce on the address given to Start.
type Tracker struct {
	logger   *slog.Logger
	interval time.Duration
	ttl      time.Duration
	now      func() time.Time

	// mu guards everything below.
	mu       sync.Mutex
	swarms   map[[20]byte]map[netip.AddrPort]time.Time // expiry; zero time = never expires
	started  bool
	closed   bool
	srv      *http.Server
	ln       net.Listener
	done     chan struct{} // closed when the serving goroutine returns
	requests int
}

// Options tunes a Tracker. The zero value gives the defaults.
type Options struct {
	Interval time.Duration    // announce interval in replies; DefaultInterval if 0
	PeerTTL  time.Duration    // how long a peer is listed after its last announce; DefaultPeerTTL if 0
	Now      func() time.Time // clock, for tests; time.Now if nil
}

// NewTracker returns a tracker with default options. Call Start to serve.
func NewTracker(logger *slog.Logger) *Tracker {
	return NewTrackerOptions(logger, Options{})
}

// NewTrackerOptions returns a tracker with the given options.
func NewTrackerOptions(logger *slog.Logger, opts Options) *Tracker {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if opts.Interval <= 0 {
		opts.Interval = DefaultInterval
	}
	if opts.PeerTTL <= 0 {
		opts.PeerTTL = DefaultPeerTTL
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Tracker{
		logger:   logger,
		interval: opts.Interval,
		ttl:      opts.PeerTTL,
		now:      opts.Now,
		swarms:   map[[20]byte]map[netip.AddrPort]time.Time{},
	}
}

// Start listens on addr (for example "127.0.0.1:0") and serves announces in
// a goroutine that Close stops. ctx bounds only the listen call.
func (t *Tracker) Start(ctx context.Context, addr string) error {
	t.mu.Lock()
	if t.started || t.closed {
		t.mu.Unlock()
		return ErrClosed
	}
	t.started = true
	t.mu.Unlock()

	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", addr)
	if err != nil {
		return fmt.Errorf("testswarm: listen %s: %w", addr, err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/announce", t.handleAnnounce)
	srv := &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          slog.NewLogLogger(t.logger.Handler(), slog.LevelDebug),
	}
	done := make(chan struct{})

	t.mu.Lock()
	if t.closed {
		t.mu.Unlock()
		ln.Close()
		return ErrClosed
	}
	t.srv, t.ln, t.done = srv, ln, done
	t.mu.Unlock()

	go func() {
		defer close(done)
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			t.logger.Error("testswarm: serve", "err", err)
		}
	}()
	t.logger.Debug("testswarm: tracker started", "url", t.URL())
	return nil
}

// Addr is the address the tracker listens on, or the zero AddrPort before
// Start.
func (t *Tracker) Addr() netip.AddrPort {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.ln == nil {
		return netip.AddrPort{}
	}
	ap, err := netip.ParseAddrPort(t.ln.Addr().String())
	if err != nil {
		return netip.AddrPort{}
	}
	return ap
}

// URL is the announce URL, for example "http://127.0.0.1:40123/announce".
// It is empty before Start.
func (t *Tracker) URL() string {
	ap := t.Addr()
	if !ap.IsValid() {
		return ""
	}
	return "http://" + ap.String() + "/announce"
}

// Close stops serving, closes open connections and waits for the serving
// goroutine. It is safe to call more than once.
func (t *Tracker) Close() error {
	t.mu.Lock()
	t.closed = true
	srv, done := t.srv, t.done
	t.srv = nil
	t.mu.Unlock()
	if srv == nil {
		return nil
	}
	err := srv.Close()
	<-done
	if err != nil {
		return fmt.Errorf("testswarm: close: %w", err)
	}
	return nil
}

// AddPeer lists addr for info hash ih until RemovePeer, whether or not it
// ever announces. Useful to point clients at a peer that does not talk to
// trackers.
func (t *Tracker) AddPeer(ih [20]byte, addr netip.AddrPort) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.swarmLocked(ih)[addrKey(addr)] = time.Time{}
}

// RemovePeer removes addr from ih's swarm.
func (t *Tracker) RemovePeer(ih [20]byte, addr netip.AddrPort) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if s := t.swarms[ih]; s != nil {
		delete(s, addrKey(addr))
	}
}

// Peers returns the live peers of ih, in no particular order.
func (t *Tracker) Peers(ih [20]byte) []netip.AddrPort {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.peersLocked(ih, netip.AddrPort{})
}

// Announces is the number of announce requests served so far (including
// rejected ones).
func (t *Tracker) Announces() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.requests
}

func (t *Tracker) swarmLocked(ih [20]byte) map[netip.AddrPort]time.Time {
	s := t.swarms[ih]
	if s == nil {
		s = map[netip.AddrPort]time.Time{}
		t.swarms[ih] = s
	}
	return s
}

// peersLocked returns the live peers of ih except self, dropping expired
// ones as it goes.
func (t *Tracker) peersLocked(ih [20]byte, self netip.AddrPort) []netip.AddrPort {
	now := t.now()
	var out []netip.AddrPort
	for ap, exp := range t.swarms[ih] {
		if !exp.IsZero() && now.After(exp) {
			delete(t.swarms[ih], ap)
			continue
		}
		if ap == self {
			continue
		}
		out = append(out, ap)
	}
	return out
}

// addrKey normalises IPv4-mapped IPv6 addresses so one peer has one key.
func addrKey(ap netip.AddrPort) netip.AddrPort {
	return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
}

func (t *Tracker) handleAnnounce(w http.ResponseWriter, r *http.Request) {
	req, err := parseAnnounce(r)
	t.mu.Lock()
	t.requests++
	t.mu.Unlock()
	if err != nil {
		t.logger.Debug("testswarm: bad announce", "err", err, "query", r.URL.RawQuery)
		writeBencode(w, failureReply(err.Error()))
		return
	}

	t.mu.Lock()
	if req.event == "stopped" {
		delete(t.swarmLocked(req.infoHash), req.peer)
	} else {
		t.swarmLocked(req.infoHash)[req.peer] = t.now().Add(t.ttl)
	}
	peers := t.peersLocked(req.infoHash, req.peer)
	t.mu.Unlock()

	if req.numWant >= 0 && len(peers) > req.numWant {
		peers = peers[:req.numWant]
	}
	t.logger.Debug("testswarm: announce", "info_hash", fmt.Sprintf("%x", req.infoHash),
		"peer", req.peer, "event", req.event, "peers", len(peers))
	writeBencode(w, announceReply(t.interval, peers))
}

type announceRequest struct {
	infoHash [20]byte
	peer     netip.AddrPort
	event    string
	numWant  int // -1 if absent
}

// parseAnnounce reads the query. The peer's IP is the connection's source
// address; the "ip" parameter is honoured only when both it and the source
// are loopback addresses of the same family, so tests can announce for
// peers on other loopback IPs.
func parseAnnounce(r *http.Request) (announceRequest, error) {
	var req announceRequest
	// url.ParseQuery decodes %XX into raw bytes, which is what info_hash needs.
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return req, fmt.Errorf("testswarm: bad query: %w", err)
	}
	ih := q.Get("info_hash")
	if len(ih) != 20 {
		return req, fmt.Errorf("testswarm: info_hash must be 20 bytes, got %d", len(ih))
	}
	copy(req.infoHash[:], ih)

	port, err := strconv.ParseUint(q.Get("port"), 10, 16)
	if err != nil || port == 0 {
		return req, fmt.Errorf("testswarm: bad port %q", q.Get("port"))
	}
	src, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		return req, fmt.Errorf("testswarm: bad remote address %q: %w", r.RemoteAddr, err)
	}
	ip := src.Addr().Unmap()
	if s := q.Get("ip"); s != "" {
		if a, err := netip.ParseAddr(s); err == nil && a.Unmap().IsLoopback() && ip.IsLoopback() && a.Unmap().Is4() == ip.Is4() {
			ip = a.Unmap()
		}
	}
	req.peer = netip.AddrPortFrom(ip, uint16(port))

	req.event = q.Get("event")
	req.numWant = -1
	if s := q.Get("numwant"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 {
			return req, fmt.Errorf("testswarm: bad numwant %q", s)
		}
		req.numWant = n
	}
	return req, nil
}
