package tracker

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"net/url"
	"os"
	"time"
)

// maxDatagram is the read buffer: the largest UDP payload.
const maxDatagram = 65535

// udpSession is one request's socket to a UDP tracker. It is used by one
// goroutine only.
type udpSession struct {
	c      *Client
	u      *url.URL // for error messages
	conn   *net.UDPConn
	remote netip.AddrPort // the tracker's address, unmapped
	key    string         // remote as a connection ID cache key
	buf    []byte
	tries  int // timeouts so far in this request: the n of BEP 15's 15·2^n
}

// dialUDP opens a socket to u's host. Closing the returned session also
// stops its ctx watcher and waits for it.
func (c *Client) dialUDP(ctx context.Context, u *url.URL) (*udpSession, func(), error) {
	conn, err := c.dial(ctx, "udp", u.Host)
	if err != nil {
		var oe *net.OpError
		if errors.As(err, &oe) && ctx.Err() != nil {
			err = ctx.Err()
		}
		return nil, nil, fmt.Errorf("tracker: dial %s: %w", redact(u), err)
	}
	uc, ok := conn.(*net.UDPConn)
	if !ok {
		conn.Close()
		return nil, nil, fmt.Errorf("tracker: dial %s: got a %T, not a UDP socket", redact(u), conn)
	}
	remote := uc.RemoteAddr().(*net.UDPAddr).AddrPort()
	remote = netip.AddrPortFrom(remote.Addr().Unmap(), remote.Port())
	// A done ctx makes every pending and future read or write fail at
	// once; each wait re-checks ctx after setting its own deadline.
	watcherDone := make(chan struct{})
	stop := context.AfterFunc(ctx, func() {
		defer close(watcherDone)
		uc.SetDeadline(time.Unix(1, 0))
	})
	closeFn := func() {
		if !stop() {
			<-watcherDone
		}
		uc.Close()
	}
	s := &udpSession{c: c, u: u, conn: uc, remote: remote, key: remote.String(), buf: make([]byte, maxDatagram)}
	return s, closeFn, nil
}

// ipv6 reports whether the tracker is reached over IPv6, and so sends
// 18-byte peers.
func (s *udpSession) ipv6() bool { return s.remote.Addr().Is6() }

// request sends a request of action (announce or scrape) built by body
// and returns the reply carrying its transaction ID, of any action. It
// gets a connection ID first, from the cache or by connecting, and gets a
// new one when it expires during retransmissions. If the tracker answers
// with an error while a cached connection ID was used, the ID is dropped
// and the request repeated once with a fresh one, in case the tracker no
// longer accepts it.
func (s *udpSession) request(ctx context.Context, body func(dst []byte, connID uint64, txid uint32) []byte) ([]byte, error) {
	s.tries = 0
	retriedFresh := false
	for {
		conn, cached, err := s.connectionID(ctx)
		if err != nil {
			return nil, err
		}
		txid := rand.Uint32()
		pkt := body(nil, conn.id, txid)
		var reply []byte // nil if the connection ID expired first
		for s.c.now().Sub(conn.at) < ConnectionIDLifetime {
			reply, err = s.roundTrip(ctx, pkt, txid)
			if errors.Is(err, errAttemptTimeout) {
				if err = s.timedOut(); err != nil {
					return nil, err
				}
				continue
			}
			if err != nil {
				return nil, err
			}
			break
		}
		if reply == nil { // get a new ID, then resend
			s.c.forget(s.key, conn.id)
			continue
		}
		if action, _, _ := udpHeader(reply); action == actionError && cached && !retriedFresh {
			s.c.log.Debug("UDP tracker refused a cached connection ID; reconnecting", "tracker", redact(s.u))
			s.c.forget(s.key, conn.id)
			retriedFresh = true
			continue
		}
		return reply, nil
	}
}

// connectionID returns a cached connection ID younger than
// ConnectionIDLifetime, or connects for a new one. cached tells which.
func (s *udpSession) connectionID(ctx context.Context) (e connEntry, cached bool, err error) {
	if e, ok := s.c.cached(s.key); ok {
		return e, true, nil
	}
	txid := rand.Uint32()
	pkt := appendConnect(nil, txid)
	for {
		reply, err := s.roundTrip(ctx, pkt, txid)
		if errors.Is(err, errAttemptTimeout) {
			if err = s.timedOut(); err != nil {
				return connEntry{}, false, err
			}
			continue
		}
		if err != nil {
			return connEntry{}, false, err
		}
		id, err := parseUDPConnect(reply)
		if err != nil {
			return connEntry{}, false, s.replyError(err, "connect")
		}
		e := connEntry{id: id, at: s.c.now()}
		s.c.store(s.key, e)
		return e, false, nil
	}
}

// timedOut counts an unanswered attempt and fails once BEP 15's schedule
// is used up.
func (s *udpSession) timedOut() error {
	if s.tries >= s.c.udpRetries {
		return fmt.Errorf("%w %s after %d attempts", ErrTimeout, redact(s.u), s.tries+1)
	}
	s.tries++
	s.c.log.Debug("UDP tracker did not answer; retransmitting", "tracker", redact(s.u), "n", s.tries)
	return nil
}

// replyError adds the tracker's name to a parse error; a FailureError is
// the tracker's own message and stays as it is.
func (s *udpSession) replyError(err error, what string) error {
	var fe *FailureError
	if errors.As(err, &fe) {
		return err
	}
	return fmt.Errorf("%w (%s reply from %s)", err, what, redact(s.u))
}

// errAttemptTimeout: one attempt's wait ended without a matching reply.
var errAttemptTimeout = errors.New("tracker: UDP attempt timed out")

// roundTrip sends pkt and waits udpTimeout·2^tries for a datagram from the
// tracker carrying txid, which it returns (a copy). Datagrams from other
// addresses, too short to carry a transaction ID, or carrying another
// transaction ID are ignored.
func (s *udpSession) roundTrip(ctx context.Context, pkt []byte, txid uint32) ([]byte, error) {
	deadline := time.Now().Add(s.c.udpTimeout << s.tries)
	if err := s.conn.SetDeadline(deadline); err != nil {
		return nil, fmt.Errorf("tracker: %s: %w", redact(s.u), err)
	}
	if err := ctx.Err(); err != nil { // after SetDeadline: see dialUDP
		return nil, err
	}
	if _, err := s.conn.Write(pkt); err != nil {
		return nil, s.ioError(ctx, "send to", err)
	}
	for {
		n, from, err := s.conn.ReadFromUDPAddrPort(s.buf)
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			if errors.Is(err, os.ErrDeadlineExceeded) {
				return nil, errAttemptTimeout
			}
			return nil, s.ioError(ctx, "receive from", err)
		}
		from = netip.AddrPortFrom(from.Addr().Unmap(), from.Port())
		if from != s.remote {
			s.c.log.Debug("ignoring datagram from another address", "tracker", redact(s.u), "from", from)
			continue
		}
		_, got, ok := udpHeader(s.buf[:n])
		if !ok || got != txid {
			s.c.log.Debug("ignoring datagram of another transaction", "tracker", redact(s.u), "bytes", n)
			continue
		}
		return append([]byte(nil), s.buf[:n]...), nil
	}
}

func (s *udpSession) ioError(ctx context.Context, what string, err error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return fmt.Errorf("tracker: %s %s: %w", what, redact(s.u), err)
}

// cached returns the connection ID for key if it is young enough.
func (c *Client) cached(key string) (connEntry, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.conns[key]
	if !ok || c.now().Sub(e.at) >= ConnectionIDLifetime {
		return connEntry{}, false
	}
	return e, true
}

// store caches e for key, dropping expired entries so the map stays as
// small as the set of trackers used in the last minute.
func (c *Client) store(key string, e connEntry) {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.now()
	for k, old := range c.conns {
		if now.Sub(old.at) >= ConnectionIDLifetime {
			delete(c.conns, k)
		}
	}
	if c.conns == nil {
		c.conns = map[string]connEntry{}
	}
	c.conns[key] = e
}

// forget drops key's connection ID if it is still id.
func (c *Client) forget(key string, id uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.conns[key]; ok && e.id == id {
		delete(c.conns, key)
	}
}
