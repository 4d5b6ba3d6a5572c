package dht

import (
	"net/netip"
	"time"
)

// Queries we answer are rate limited, so that a flood cannot make a node
// spend its CPU and upload answering: at most maxQueriesPerSec a second in
// all and maxPerSourcePerSec from one address and port (a node is a
// socket; nodes behind one NAT share an IP). Over the limit a query is
// dropped unanswered (to a querier that looks like packet loss).
const (
	maxQueriesPerSec   = 1000
	maxPerSourcePerSec = 50
	// maxSources bounds the per-address counts; a second with more
	// distinct sources than this counts the rest only in the total.
	maxSources = 4096
)

// limiter counts the current second's queries. Server.mu guards it.
type limiter struct {
	second  int64
	total   int
	sources map[netip.AddrPort]int
}

// allow reports whether a query from src may be answered now, and counts
// it.
func (l *limiter) allow(src netip.AddrPort, now time.Time) bool {
	if sec := now.Unix(); sec != l.second || l.sources == nil {
		l.second, l.total = sec, 0
		l.sources = make(map[netip.AddrPort]int)
	}
	if l.total >= maxQueriesPerSec {
		return false
	}
	n, seen := l.sources[src]
	if n >= maxPerSourcePerSec {
		return false
	}
	if seen || len(l.sources) < maxSources {
		l.sources[src] = n + 1
	}
	l.total++
	return true
}
