package dht

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
	"time"
)

// Options configure a Server.
type Options struct {
	// Logger receives debug notes about malformed messages and failed
	// queries. Nil discards them.
	Logger *slog.Logger
	// ID is the node's ID; the zero value picks a random one.
	ID [20]byte
	// QueryTimeout bounds one query's wait for its response (default 2 s).
	QueryTimeout time.Duration

	// Tests only (maintain.go).
	rejoinMin, refreshEvery time.Duration
}

const (
	defaultQueryTimeout = 2 * time.Second
	// maxDatagram is the read buffer; KRPC messages are far smaller.
	maxDatagram = 4096
	// maxReplyValues bounds the peers one get_peers answer carries, so
	// that it stays well under a datagram's usual MTU.
	maxReplyValues = 50
)

// ErrClosed is returned by calls on a closed Server.
var ErrClosed = errors.New("dht: server closed")

// Server is one DHT node on one UDP socket. Its methods are safe for
// concurrent use; Close stops its read loop and waits for it.
type Server struct {
	conn *net.UDPConn
	log  *slog.Logger
	id   [20]byte
	qto  time.Duration
	opts Options

	mu      sync.Mutex // guards table, store, limit, pending, nextT; never held across I/O
	table   *table
	store   *store
	limit   limiter
	pending map[string]*call // our queries awaiting a response, by transaction ID
	nextT   uint32

	done     chan struct{} // closed by Close
	loopDone chan struct{} // closed when the read loop returns
	once     sync.Once
}

// call is one query in flight.
type call struct {
	to netip.AddrPort
	ch chan *msg // cap 1: the response or error message
}

// Listen opens a UDP socket on addr (like "127.0.0.1:0" or ":6881") and
// serves the DHT on it.
func Listen(addr string, opts Options) (*Server, error) {
	ua, err := net.ResolveUDPAddr("udp4", addr)
	if err != nil {
		return nil, fmt.Errorf("dht: listen %s: %w", addr, err)
	}
	conn, err := net.ListenUDP("udp4", ua)
	if err != nil {
		return nil, fmt.Errorf("dht: listen %s: %w", addr, err)
	}
	return New(conn, opts), nil
}

// New serves the DHT on conn, which the Server owns from now on.
func New(conn *net.UDPConn, opts Options) *Server {
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	id := opts.ID
	if id == ([20]byte{}) {
		rand.Read(id[:])
	}
	qto := opts.QueryTimeout
	if qto <= 0 {
		qto = defaultQueryTimeout
	}
	s := &Server{
		conn: conn, log: log, id: id, qto: qto, opts: opts,
		table:    newTable(id),
		store:    newStore(time.Now()),
		pending:  map[string]*call{},
		done:     make(chan struct{}),
		loopDone: make(chan struct{}),
	}
	go s.readLoop()
	return s
}

// Close stops the server and waits for its read loop. Queries in flight
// fail with ErrClosed.
func (s *Server) Close() error {
	var err error
	s.once.Do(func() {
		close(s.done)
		err = s.conn.Close()
		<-s.loopDone
	})
	if err != nil {
		return fmt.Errorf("dht: close: %w", err)
	}
	return nil
}

// Addr is the address the server listens on.
func (s *Server) Addr() netip.AddrPort {
	a := s.conn.LocalAddr().(*net.UDPAddr).AddrPort()
	return netip.AddrPortFrom(a.Addr().Unmap(), a.Port())
}

// ID is the server's node ID.
func (s *Server) ID() [20]byte { return s.id }

// Nodes is how many nodes the routing table holds.
func (s *Server) Nodes() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.table.len()
}

func (s *Server) readLoop() {
	defer close(s.loopDone)
	buf := make([]byte, maxDatagram)
	for {
		n, from, err := s.conn.ReadFromUDPAddrPort(buf)
		if err != nil {
			select {
			case <-s.done:
				return
			default:
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			if errors.Is(err, net.ErrClosed) {
				return
			}
			s.log.Debug("dht: read", "err", err)
			continue
		}
		from = netip.AddrPortFrom(from.Addr().Unmap(), from.Port())
		s.handle(buf[:n], from)
	}
}

// handle processes one datagram from a remote node.
func (s *Server) handle(b []byte, from netip.AddrPort) {
	m, err := decode(b)
	now := time.Now()
	if err != nil {
		s.log.Debug("dht: dropping message", "from", from, "err", err)
		if m != nil && m.Y == "q" && m.T != "" && s.allow(from, now) {
			s.send(from, &msg{T: m.T, Y: "e", Code: codeProtocol, Text: "malformed query"})
		}
		return
	}
	switch m.Y {
	case "q":
		if s.allow(from, now) {
			s.answer(m, from, now)
		}
	case "r", "e":
		s.mu.Lock()
		c := s.pending[m.T]
		if c != nil && c.to == from {
			delete(s.pending, m.T)
		} else {
			c = nil // unknown, late, or from another address: ignore
		}
		if c != nil && m.Y == "r" {
			s.table.seen(node{m.ID, from}, now)
		}
		s.mu.Unlock()
		if c != nil {
			c.ch <- m
		}
	}
}

// allow reports whether a query from addr may be answered (limit.go).
func (s *Server) allow(addr netip.AddrPort, now time.Time) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.limit.allow(addr, now)
}

// answer replies to a query.
func (s *Server) answer(q *msg, from netip.AddrPort, now time.Time) {
	r := &msg{T: q.T, Y: "r", ID: s.id}
	s.mu.Lock()
	s.table.seen(node{q.ID, from}, now)
	switch q.Q {
	case "ping":
	case "find_node":
		r.Nodes = s.table.closest(q.Target, bucketSize)
	case "get_peers":
		r.Token = s.store.token(from.Addr(), now)
		r.Values = s.store.get(q.InfoHash, maxReplyValues, now)
		r.Nodes = s.table.closest(q.InfoHash, bucketSize)
	case "announce_peer":
		if !s.store.valid(q.Token, from.Addr(), now) {
			s.mu.Unlock()
			s.send(from, &msg{T: q.T, Y: "e", Code: codeProtocol, Text: "bad token"})
			return
		}
		port := uint16(q.Port)
		if q.Implied {
			port = from.Port()
		}
		s.store.add(q.InfoHash, netip.AddrPortFrom(from.Addr(), port), now)
	default:
		s.mu.Unlock()
		s.send(from, &msg{T: q.T, Y: "e", Code: codeMethod, Text: "method unknown"})
		return
	}
	s.mu.Unlock()
	s.send(from, r)
}

// send writes one message; failures are only logged (UDP is lossy anyway).
func (s *Server) send(to netip.AddrPort, m *msg) error {
	b, err := m.encode()
	if err != nil {
		return err
	}
	if _, err := s.conn.WriteToUDPAddrPort(b, to); err != nil {
		s.log.Debug("dht: send", "to", to, "err", err)
		return fmt.Errorf("dht: send to %s: %w", to, err)
	}
	return nil
}

// errQueryTimeout is a query that got no answer in time.
var errQueryTimeout = errors.New("dht: query timed out")

// RemoteError is a KRPC error a node answered with.
type RemoteError struct {
	Code int
	Text string
}

func (e *RemoteError) Error() string {
	return fmt.Sprintf("dht: node answered error %d: %s", e.Code, e.Text)
}

// query sends q (its transaction ID and our ID filled in) to a node and
// waits for the response, the query timeout, ctx or Close.
func (s *Server) query(ctx context.Context, to netip.AddrPort, q *msg) (*msg, error) {
	c := &call{to: to, ch: make(chan *msg, 1)}
	s.mu.Lock()
	s.nextT++
	var t [4]byte
	binary.BigEndian.PutUint32(t[:], s.nextT)
	q.T, q.Y, q.ID = string(t[:]), "q", s.id
	s.pending[q.T] = c
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.pending, q.T)
		s.mu.Unlock()
	}()
	if err := s.send(to, q); err != nil {
		return nil, err
	}
	timer := time.NewTimer(s.qto)
	defer timer.Stop()
	select {
	case m := <-c.ch:
		if m.Y == "e" {
			return nil, &RemoteError{Code: m.Code, Text: m.Text}
		}
		return m, nil
	case <-timer.C:
		s.mu.Lock()
		s.table.failed(to)
		s.mu.Unlock()
		return nil, fmt.Errorf("%w: %s %s", errQueryTimeout, q.Q, to)
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-s.done:
		return nil, ErrClosed
	}
}

// Ping asks a node for its ID, adding it to the routing table if it
// answers.
func (s *Server) Ping(ctx context.Context, addr netip.AddrPort) ([20]byte, error) {
	r, err := s.query(ctx, addr, &msg{Q: "ping"})
	if err != nil {
		return [20]byte{}, err
	}
	return r.ID, nil
}
