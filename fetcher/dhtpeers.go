package fetcher

import (
	"context"
	"log/slog"
	"net/netip"
	"time"
)

// PeerFinder finds a torrent's peers without a tracker: the DHT
// (cmd/torrentfs wires a *dht.Server). Announce looks up ih's peers and
// tells the network that we are one, on TCP port port.
type PeerFinder interface {
	Announce(ctx context.Context, ih [20]byte, port int) ([]netip.AddrPort, error)
}

const (
	// dhtTimeout bounds one DHT lookup and announce.
	dhtTimeout = 30 * time.Second
	// dhtEvery is how often a torrent with enough peers is announced
	// (BEP 5 stores announces for at least half an hour).
	dhtEvery = 15 * time.Minute
	// dhtFewPeers: a lookup that found fewer peers is repeated after
	// dhtRetry, and one that failed (the table may still be empty while
	// it bootstraps) after 1 s, doubling up to dhtRetryFailed.
	dhtFewPeers    = 8
	dhtRetry       = time.Minute
	dhtRetryFailed = 10 * time.Second
)

// dhtLoop announces ih on the DHT until ctx ends, handing the peers found
// to add.
func dhtLoop(ctx context.Context, finder PeerFinder, ih [20]byte, port uint16, log *slog.Logger, add func([]netip.AddrPort)) {
	timer := time.NewTimer(0)
	defer timer.Stop()
	failures := 0
	for {
		select {
		case <-timer.C:
		case <-ctx.Done():
			return
		}
		lctx, cancel := context.WithTimeout(ctx, dhtTimeout)
		peers, err := finder.Announce(lctx, ih, int(port))
		cancel()
		if ctx.Err() != nil {
			return
		}
		next := dhtEvery
		switch {
		case err != nil:
			log.Debug("DHT lookup failed", "err", err)
			next = min(time.Second<<failures, dhtRetryFailed)
			failures = min(failures+1, 4) // 16 s > dhtRetryFailed; no overflow
		case len(peers) < dhtFewPeers:
			next, failures = dhtRetry, 0
		default:
			failures = 0
		}
		if len(peers) > 0 {
			log.Debug("DHT found peers", "peers", len(peers))
			add(peers)
		}
		timer.Reset(next)
	}
}
