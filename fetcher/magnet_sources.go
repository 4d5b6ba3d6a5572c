package fetcher

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"strconv"
	"time"

	"github.com/torrentfs/torrentfs/fetcher/tracker"
)

// announceLoop asks one tracker for peers of the magnet's torrent as a
// leecher with left=1 (the size is unknown), again at the tracker's
// interval, until ctx ends.
//
// If the tracker answered and the resolution fails, it tells the tracker
// "stopped" on the way out (within stoppedTimeout), so that we are not
// listed for a torrent we do not have. On success the torrent's own
// announces follow.
func (r *resolver) announceLoop(ctx context.Context, u string) {
	event := tracker.Started
	timer := time.NewTimer(0)
	defer timer.Stop()
	answered := false
	defer func() {
		if !answered {
			return
		}
		<-r.finished // closed by ResolveMagnet before it waits for us
		if r.gaveUp.Load() {
			sctx, cancel := context.WithTimeout(context.Background(), stoppedTimeout)
			defer cancel()
			if _, err := r.c.trackers.Announce(sctx, u, r.announceRequest(tracker.Stopped)); err != nil {
				r.log.Debug("stopped announce failed", "tracker", u, "err", err)
			}
		}
	}()
	for {
		select {
		case <-timer.C:
		case <-ctx.Done():
			return
		}
		actx, cancel := context.WithTimeout(ctx, trackerTimeout)
		resp, err := r.c.trackers.Announce(actx, u, r.announceRequest(event))
		cancel()
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			if errors.Is(err, tracker.ErrUnsupportedScheme) {
				r.log.Debug("skipping tracker of unsupported scheme", "tracker", u)
				return
			}
			r.log.Debug("tracker announce failed", "tracker", u, "err", err)
			r.update(func(p *MagnetProgress) { p.TrackersFailed++ })
			timer.Reset(announceRetry)
			continue
		}
		event, answered = tracker.None, true
		r.log.Debug("tracker answered", "tracker", u, "peers", len(resp.Peers))
		r.update(func(p *MagnetProgress) { p.TrackersAnswered++ })
		r.addPeers(resp.Peers)
		timer.Reset(max(resp.Interval, resp.MinInterval, minAnnounceInterval))
	}
}

// announceRequest is our announce while resolving: the size is unknown,
// so left is 1.
func (r *resolver) announceRequest(event tracker.Event) tracker.AnnounceRequest {
	return tracker.AnnounceRequest{
		InfoHash: r.ih,
		PeerID:   r.c.peerID,
		Port:     r.c.port,
		Left:     1,
		Event:    event,
		NumWant:  50,
		Key:      r.c.key,
	}
}

// addMagnetPeers adds the magnet's x.pe peers: "ip:port", "[ipv6]:port",
// or "host:port", which is looked up.
func (r *resolver) addMagnetPeers(ctx context.Context, peers []string) {
	for _, s := range peers {
		if ap, err := netip.ParseAddrPort(s); err == nil {
			r.addPeers([]netip.AddrPort{ap})
			continue
		}
		host, ps, err := net.SplitHostPort(s)
		port, perr := strconv.ParseUint(ps, 10, 16)
		if err != nil || perr != nil {
			r.log.Debug("ignoring malformed x.pe peer", "peer", s)
			continue
		}
		lctx, cancel := context.WithTimeout(ctx, r.c.opts.DialTimeout)
		ips, err := net.DefaultResolver.LookupNetIP(lctx, "ip", host)
		cancel()
		if err != nil {
			r.log.Debug("cannot look up x.pe peer", "peer", s, "err", err)
			continue
		}
		var aps []netip.AddrPort
		for _, ip := range ips {
			aps = append(aps, netip.AddrPortFrom(ip, uint16(port)))
		}
		r.addPeers(aps)
	}
}
