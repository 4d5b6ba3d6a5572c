package dht

import (
	"context"
	"crypto/rand"
	"time"
)

const (
	// refreshEvery is how often Run walks the table towards our own ID
	// and a random one, so that it keeps live nodes (BEP 5 refreshes
	// buckets after 15 minutes without activity).
	refreshEvery = 15 * time.Minute
	// rejoinMin and rejoinMax bound the wait between bootstrap attempts
	// while the table is (nearly) empty: the network may come back.
	rejoinMin = 5 * time.Second
	rejoinMax = 5 * time.Minute
)

// Run keeps the server in the network until ctx ends: it bootstraps from
// nodes, retrying with a growing wait (5 s to 5 min) while the routing
// table holds fewer than 8 nodes, and refreshes the table every 15
// minutes. report, if not nil, is called after each bootstrap attempt
// with its error (nil: joined).
func (s *Server) Run(ctx context.Context, nodes []string, report func(error)) {
	wait := s.rejoinMin()
	joined := false
	for {
		var next time.Duration
		if s.Nodes() < bucketSize {
			err := s.Bootstrap(ctx, nodes)
			if ctx.Err() != nil {
				return
			}
			if report != nil && (err != nil || !joined) {
				report(err)
			}
			joined = err == nil
			if err != nil || s.Nodes() < bucketSize {
				next, wait = wait, min(2*wait, rejoinMax)
			} else {
				next, wait = s.refreshEvery(), s.rejoinMin()
			}
		} else {
			s.refresh(ctx)
			next = s.refreshEvery()
		}
		t := time.NewTimer(next)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return
		case <-s.done:
			t.Stop()
			return
		}
	}
}

// refresh walks towards our own ID and a random one.
func (s *Server) refresh(ctx context.Context) {
	var target [20]byte
	rand.Read(target[:])
	for _, id := range [][20]byte{s.id, target} {
		if _, _, err := s.lookup(ctx, id, false); err != nil {
			s.log.Debug("dht: refresh", "err", err)
		}
	}
}

func (s *Server) rejoinMin() time.Duration {
	if s.opts.rejoinMin > 0 {
		return s.opts.rejoinMin
	}
	return rejoinMin
}

func (s *Server) refreshEvery() time.Duration {
	if s.opts.refreshEvery > 0 {
		return s.opts.refreshEvery
	}
	return refreshEvery
}
