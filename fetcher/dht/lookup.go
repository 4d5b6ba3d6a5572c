package dht

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"sync"
)

const (
	// alpha is how many queries a lookup keeps in flight.
	alpha = 3
	// maxLookupQueries bounds one lookup, whatever nodes answer.
	maxLookupQueries = 128
	// maxLookupPeers bounds the peers one lookup collects.
	maxLookupPeers = 500
)

// ErrNoNodes means the routing table is empty: bootstrap first.
var ErrNoNodes = errors.New("dht: no nodes known (not bootstrapped)")

// candidate is a node a lookup has heard of.
type candidate struct {
	node
	queried, answered, failed bool
	token                     string
}

// lookup walks towards target, alpha queries at a time, until the
// bucketSize closest nodes it knows of have all answered or failed. With
// getPeers it sends get_peers and collects the peers nodes give; otherwise
// find_node. It returns the peers and the closest nodes that answered.
func (s *Server) lookup(ctx context.Context, target [20]byte, getPeers bool) ([]netip.AddrPort, []*candidate, error) {
	s.mu.Lock()
	start := s.table.closest(target, 2*bucketSize)
	s.mu.Unlock()
	if len(start) == 0 {
		return nil, nil, ErrNoNodes
	}
	var (
		cands   []*candidate // sorted by distance to target
		known   = map[netip.AddrPort]bool{}
		peers   []netip.AddrPort
		seenP   = map[netip.AddrPort]bool{}
		results = make(chan lookupResult)
		flying  int
		sent    int
	)
	addCand := func(n node) {
		if known[n.Addr] || n.ID == s.id {
			return
		}
		known[n.Addr] = true
		i, _ := slices.BinarySearchFunc(cands, n.ID, func(c *candidate, id [20]byte) int {
			return compareDistance(c.ID, id, target)
		})
		cands = slices.Insert(cands, i, &candidate{node: n})
	}
	for _, n := range start {
		addCand(n)
	}
	q := &msg{Q: "find_node", Target: target}
	if getPeers {
		q = &msg{Q: "get_peers", InfoHash: target}
	}
	for {
		// Query the nearest unqueried candidates among the bucketSize
		// nearest that have not failed.
		live := 0
		for _, c := range cands {
			if flying >= alpha || live >= bucketSize || sent >= maxLookupQueries {
				break
			}
			if c.failed {
				continue
			}
			live++
			if c.queried {
				continue
			}
			c.queried = true
			flying++
			sent++
			qc := *q
			go func(c *candidate) {
				r, err := s.query(ctx, c.Addr, &qc)
				results <- lookupResult{c, r, err}
			}(c)
		}
		if flying == 0 {
			break
		}
		res := <-results
		flying--
		if res.err != nil {
			res.c.failed = true
			if ctx.Err() != nil || errors.Is(res.err, ErrClosed) {
				for ; flying > 0; flying-- {
					<-results
				}
				return peers, answeredCands(cands), res.err
			}
			continue
		}
		// The candidate keeps the ID it was listed with, which orders
		// cands; the table records the ID it answered with (handle).
		res.c.answered = true
		res.c.token = res.r.Token
		for _, n := range res.r.Nodes {
			addCand(n)
		}
		for _, p := range res.r.Values {
			if !seenP[p] && len(peers) < maxLookupPeers {
				seenP[p] = true
				peers = append(peers, p)
			}
		}
	}
	return peers, answeredCands(cands), nil
}

type lookupResult struct {
	c   *candidate
	r   *msg
	err error
}

// answeredCands returns the bucketSize closest candidates that answered.
func answeredCands(cands []*candidate) []*candidate {
	var out []*candidate
	for _, c := range cands {
		if c.answered {
			out = append(out, c)
			if len(out) == bucketSize {
				break
			}
		}
	}
	return out
}

// GetPeers looks up peers of the torrent ih.
func (s *Server) GetPeers(ctx context.Context, ih [20]byte) ([]netip.AddrPort, error) {
	peers, _, err := s.lookup(ctx, ih, true)
	if err != nil && len(peers) == 0 {
		return nil, fmt.Errorf("dht: get_peers %x: %w", ih, err)
	}
	return peers, nil
}

// Announce looks up peers of ih and tells the closest nodes that we are
// one, on TCP port port (0: the port of our DHT socket). It returns the
// peers found.
func (s *Server) Announce(ctx context.Context, ih [20]byte, port int) ([]netip.AddrPort, error) {
	peers, closest, err := s.lookup(ctx, ih, true)
	if err != nil && len(peers) == 0 && len(closest) == 0 {
		return nil, fmt.Errorf("dht: announce %x: %w", ih, err)
	}
	var wg sync.WaitGroup
	for _, c := range closest {
		if c.token == "" {
			continue
		}
		q := &msg{Q: "announce_peer", InfoHash: ih, Port: port, Implied: port == 0, Token: c.token}
		wg.Go(func() {
			if _, err := s.query(ctx, c.Addr, q); err != nil {
				s.log.Debug("dht: announce_peer", "to", c.Addr, "err", err)
			}
		})
	}
	wg.Wait()
	return peers, nil
}

// Bootstrap adds the nodes at addrs (host:port; names are resolved) to the
// routing table, then looks up our own ID to fill it. It fails only if no
// node could be reached.
func (s *Server) Bootstrap(ctx context.Context, addrs []string) error {
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex // guards errs
		errs []error
	)
	for _, a := range addrs {
		wg.Go(func() {
			err := s.bootstrapOne(ctx, a)
			if err != nil {
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if s.Nodes() == 0 {
		return fmt.Errorf("dht: bootstrap: no node answered: %w", errors.Join(errs...))
	}
	if _, _, err := s.lookup(ctx, s.id, false); err != nil && ctx.Err() != nil {
		return fmt.Errorf("dht: bootstrap: %w", err)
	}
	return nil
}

// bootstrapOne resolves one host:port and pings every IPv4 address of it.
func (s *Server) bootstrapOne(ctx context.Context, hostport string) error {
	host, portStr, err := net.SplitHostPort(hostport)
	if err != nil {
		return fmt.Errorf("dht: bootstrap node %q: %w", hostport, err)
	}
	port, err := net.LookupPort("udp", portStr)
	if err != nil {
		return fmt.Errorf("dht: bootstrap node %q: %w", hostport, err)
	}
	ips, err := net.DefaultResolver.LookupNetIP(ctx, "ip4", host)
	if err != nil {
		return fmt.Errorf("dht: bootstrap node %q: %w", hostport, err)
	}
	var last error
	for _, ip := range ips {
		if _, err := s.Ping(ctx, netip.AddrPortFrom(ip.Unmap(), uint16(port))); err != nil {
			last = err
			continue
		}
		return nil
	}
	return fmt.Errorf("dht: bootstrap node %q: %w", hostport, last)
}
