package fetcher

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/torrentfs/torrentfs/fetcher/tracker"
)

const (
	// announceRetry is the wait after every tracker of the torrent failed.
	announceRetry = 30 * time.Second
	// minAnnounceInterval protects trackers from a reply asking for less.
	minAnnounceInterval = 30 * time.Second
	// stoppedTimeout bounds the "stopped" announce at close.
	stoppedTimeout = 3 * time.Second
	// trackerTimeout bounds one announce to one tracker, so a silent UDP
	// tracker (BEP 15 retries for hours) cannot hold up the tiers after it.
	trackerTimeout = 60 * time.Second
)

// announcer tracks which tracker of each tier answered last (BEP 12).
type announcer struct {
	mu    sync.Mutex // guards tiers and used
	tiers [][]string // per tier, the URL that last worked first
	used  []string   // trackers that accepted an announce, to tell "stopped"
}

func (t *Torrent) announceLoop(ctx context.Context) {
	t.ann.mu.Lock()
	for _, tier := range t.mi.Trackers() {
		t.ann.tiers = append(t.ann.tiers, append([]string(nil), tier...))
	}
	t.ann.mu.Unlock()
	event := tracker.Started
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-timer.C:
		case <-ctx.Done():
			return
		}
		wait, ok := t.announceAll(ctx, event)
		if ok {
			event = tracker.None
		}
		// With no peer yet and pieces missing, ask again at the shortest
		// interval trackers allow rather than the tracker's usual one (often
		// 30 minutes): the swarm may simply have announced after us.
		if s := t.Stats(); s.Peers == 0 && s.HavePieces < s.Pieces {
			wait = min(wait, max(t.c.announceFloor(), time.Second))
		}
		timer.Reset(wait)
	}
}

// announceAll announces to one tracker per tier, all tiers at once, each
// tier trying its trackers in order until one answers (BEP 12). Tiers run
// concurrently so that a silent tracker in an early tier, which may take
// trackerTimeout to give up, does not delay the peers of a later one. It
// returns when to announce next.
func (t *Torrent) announceAll(ctx context.Context, event tracker.Event) (time.Duration, bool) {
	t.ann.mu.Lock()
	tiers := make([][]string, len(t.ann.tiers))
	for i, tier := range t.ann.tiers {
		tiers[i] = append([]string(nil), tier...)
	}
	t.ann.mu.Unlock()
	intervals := make([]time.Duration, len(tiers)) // 0: the tier did not answer
	var wg sync.WaitGroup
	for ti, tier := range tiers {
		wg.Go(func() { intervals[ti] = t.announceTier(ctx, ti, tier, event) })
	}
	wg.Wait()
	next, any := time.Duration(0), false
	for _, iv := range intervals {
		if iv > 0 && (!any || iv < next) {
			next, any = iv, true
		}
	}
	if !any || ctx.Err() != nil {
		return announceRetry, false
	}
	return next, true
}

// announceTier announces to the trackers of one tier in order until one
// answers, and returns its interval, or 0 if none answered.
func (t *Torrent) announceTier(ctx context.Context, ti int, tier []string, event tracker.Event) time.Duration {
	for ui, u := range tier {
		t.log.Debug("announcing", "tracker", u, "event", event)
		actx, cancel := context.WithTimeout(ctx, trackerTimeout)
		resp, err := t.c.trackers.Announce(actx, u, t.announceRequest(event))
		cancel()
		if err != nil {
			if ctx.Err() != nil {
				return 0
			}
			if errors.Is(err, tracker.ErrUnsupportedScheme) {
				t.log.Debug("skipping tracker of unsupported scheme", "tracker", u)
			} else {
				t.log.Warn("tracker announce failed", "tracker", u, "err", err)
			}
			continue
		}
		t.log.Debug("tracker answered", "tracker", u, "peers", len(resp.Peers), "interval", resp.Interval)
		if resp.Warning != "" {
			t.log.Warn("tracker warning", "tracker", u, "warning", resp.Warning)
		}
		t.AddPeers(resp.Peers...)
		t.ann.promote(ti, ui, u)
		return max(resp.Interval, resp.MinInterval, t.c.announceFloor())
	}
	return 0
}

// promote moves the tracker that answered to the front of its tier.
func (a *announcer) promote(tier, idx int, u string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if tier < len(a.tiers) && idx < len(a.tiers[tier]) && a.tiers[tier][idx] == u {
		tr := a.tiers[tier]
		copy(tr[1:idx+1], tr[:idx])
		tr[0] = u
	}
	for _, v := range a.used {
		if v == u {
			return
		}
	}
	a.used = append(a.used, u)
}

func (t *Torrent) announceRequest(event tracker.Event) tracker.AnnounceRequest {
	t.mu.Lock()
	left := int64(0)
	for i := range t.info.NumPieces() {
		if !t.have.Has(i) {
			left += t.info.PieceSize(i)
		}
	}
	t.mu.Unlock()
	return tracker.AnnounceRequest{
		InfoHash:   t.ih,
		PeerID:     t.c.peerID,
		Port:       t.c.port,
		Uploaded:   t.uploaded.Load(),
		Downloaded: t.downloaded.Load(),
		Left:       left,
		Event:      event,
		NumWant:    50,
		Key:        t.c.key,
	}
}

// announceStopped tells the trackers that accepted us that we are leaving.
func (t *Torrent) announceStopped() {
	t.ann.mu.Lock()
	used := append([]string(nil), t.ann.used...)
	t.ann.mu.Unlock()
	if len(used) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), stoppedTimeout)
	defer cancel()
	req := t.announceRequest(tracker.Stopped)
	for _, u := range used {
		if _, err := t.c.trackers.Announce(ctx, u, req); err != nil && !errors.Is(err, context.DeadlineExceeded) {
			t.log.Debug("stopped announce failed", "tracker", u, "err", err)
		}
	}
}

// announceFloor is the shortest announce interval a tracker may ask for.
func (c *Client) announceFloor() time.Duration {
	if c.opts.announceFloor > 0 {
		return c.opts.announceFloor
	}
	return minAnnounceInterval
}
