package fetcher

import (
	"context"
	"errors"
	"net/url"
	"time"
)

const (
	// webIdlePoll is how often an idle web seed looks for work, and
	// webCompletePoll how often once the torrent is complete.
	webIdlePoll     = 25 * time.Millisecond
	webCompletePoll = time.Second
	// webMinBackoff and webMaxBackoff bound the pause after a web seed
	// failed; it doubles with each failure in a row.
	webMinBackoff = time.Second
	webMaxBackoff = 5 * time.Minute
	// A request spans consecutive wanted pieces worth about webSpanTime
	// at the web seed's rate, up to webMaxSpan bytes, so that a fast web
	// seed is not held back by one round trip per piece.
	webSpanTime = time.Second
	webMaxSpan  = 8 << 20
	// maxWebseeds bounds the workers one torrent's url-list may start.
	maxWebseeds = 16
)

// webseed is one URL of the torrent's url-list (BEP 19). Its worker fetches
// pieces over HTTP range requests and hands them to the same verification
// path as peers' blocks.
//
// In the piece state a web seed appears as a sentinel *peer (see
// newWebseedPeer): its reservations are ordinary block requests, so peers
// and the web seed never fetch the same free block, and the blocks it sends
// are blamed like a peer's. The sentinel is never in Torrent.peers and has
// no connection; nothing sends it messages (see isWebseed).
type webseed struct {
	t    *Torrent
	base string
	p    *peer
	get  webGetter

	// Owned by the worker goroutine.
	backoff time.Duration
	failing bool
	rate    float64       // bytes per second of past requests, smoothed
	reqTime time.Duration // duration of past requests, smoothed
	buf     []byte        // the current request's bytes
}

// startWebseeds starts one worker per web seed URL. They end when ctx ends
// or when the web seed is disabled for sending bad data.
func (t *Torrent) startWebseeds(ctx context.Context) {
	seen := map[string]bool{}
	for _, u := range t.mi.URLList {
		pu, err := url.Parse(u)
		if err != nil || (pu.Scheme != "http" && pu.Scheme != "https") || pu.Host == "" {
			t.log.Warn("ignoring web seed: not an http(s) URL", "url", u)
			continue
		}
		if seen[u] {
			continue
		}
		if len(seen) == maxWebseeds {
			t.log.Warn("ignoring web seeds past the limit", "limit", maxWebseeds, "listed", len(t.mi.URLList))
			break
		}
		seen[u] = true
		ws := &webseed{t: t, base: u, p: newWebseedPeer(t, pu.Redacted()), get: newWebGetter(t.c.opts.HTTPClient)}
		t.c.wg.Go(func() { ws.run(ctx) })
	}
}

// newWebseedPeer makes the sentinel peer that stands for a web seed in the
// piece state. It chokes us so that the peer picker never fills it.
func newWebseedPeer(t *Torrent, name string) *peer {
	return &peer{
		t:           t,
		log:         t.log.With("webseed", name),
		haveAll:     true,
		peerChoking: true,
		amChoking:   true,
		out:         map[blockKey]time.Time{},
		allowedFast: map[uint32]bool{},
		extIDs:      map[string]uint8{},
	}
}

// isWebseed reports whether p is a web seed's sentinel rather than a
// connected peer: it has no connection, and must never be sent messages,
// filled with requests or banned by address.
func (p *peer) isWebseed() bool { return p.conn == nil }

// run fetches pieces until ctx ends or the web seed is disabled.
func (ws *webseed) run(ctx context.Context) {
	for ctx.Err() == nil {
		job, state := ws.reserve(time.Now(), ws.spanBytes(), ws.rate)
		switch state {
		case webDisabled:
			return
		case webIdle, webComplete:
			d := webIdlePoll
			if state == webComplete {
				d = webCompletePoll
			}
			if !sleepCtx(ctx, d) {
				return
			}
			continue
		}
		start := time.Now()
		n, err := ws.fetch(ctx, job)
		ws.release() // whatever was not delivered
		switch {
		case errors.Is(err, errWebseedDisabled) || ctx.Err() != nil:
			return
		case errors.Is(err, errWebseedPreempted):
			// Not a failure: a reader needs something else first.
		case err != nil:
			ws.failed(err)
			if !sleepCtx(ctx, ws.backoff) {
				return
			}
		default:
			ws.succeeded(n, time.Since(start))
		}
	}
}

var (
	// errWebseedDisabled ends a fetch whose web seed was disabled meanwhile.
	errWebseedDisabled = errors.New("fetcher: web seed disabled")
	// errWebseedPreempted ends a fetch whose remaining pieces nobody waits
	// for while a reader is blocked on a piece nobody fetches (a seek).
	errWebseedPreempted = errors.New("fetcher: web seed fetch preempted")
)

// fetch runs one job: it requests the job's span and delivers each piece
// as soon as its bytes are in, submitting completed pieces for their hash
// check. It returns the span's length.
func (ws *webseed) fetch(ctx context.Context, job *webJob) (int, error) {
	t := ws.t
	off, n := job.span(t.info)
	if cap(ws.buf) < n {
		ws.buf = make([]byte, n)
	}
	buf := ws.buf[:n]
	delivered := 0
	progress := func(filled int) error {
		for delivered < len(job.parts) {
			begin, end := job.partRange(t.info, delivered)
			if end > filled {
				break
			}
			ps, disabled := ws.deliverPart(job.parts[delivered], buf[begin:end])
			delivered++
			t.downloaded.Add(int64(end - begin))
			if ps != nil {
				if err := t.c.submitHash(ctx, t, ps); err != nil {
					return err
				}
			}
			if disabled {
				return errWebseedDisabled
			}
		}
		if delivered < len(job.parts) && ws.preempted(job, delivered) {
			return errWebseedPreempted
		}
		return nil
	}
	return n, ws.get.fetchStream(ctx, ws.base, t.info, off, buf, progress)
}

// spanBytes is how much one request asks for: about webSpanTime of the
// web seed's measured rate, at least a piece, at most webMaxSpan.
func (ws *webseed) spanBytes() int {
	return int(max(min(ws.rate*webSpanTime.Seconds(), webMaxSpan), float64(ws.t.info.PieceLength)))
}

// failed records a failed request and sets the next backoff, logging a
// warning when the web seed starts failing.
func (ws *webseed) failed(err error) {
	ws.backoff = min(max(2*ws.backoff, webMinBackoff), webMaxBackoff)
	if !ws.failing {
		ws.failing = true
		ws.p.log.Warn("web seed failing; backing off", "err", err, "backoff", ws.backoff)
	} else {
		ws.p.log.Debug("web seed still failing", "err", err, "backoff", ws.backoff)
	}
}

// succeeded records a good answer of n bytes that took d.
func (ws *webseed) succeeded(n int, d time.Duration) {
	ws.backoff = 0
	if ws.failing {
		ws.failing = false
		ws.p.log.Info("web seed working again")
	}
	if inst := float64(n) / max(d.Seconds(), 1e-3); ws.rate == 0 {
		ws.rate = inst
	} else {
		ws.rate = 0.7*ws.rate + 0.3*inst
	}
	if ws.reqTime == 0 {
		ws.reqTime = d
	} else {
		ws.reqTime = (7*ws.reqTime + d) / 8
	}
}

// sleepCtx waits d or until ctx ends; it reports whether ctx is still live.
func sleepCtx(ctx context.Context, d time.Duration) bool {
	tm := time.NewTimer(d)
	defer tm.Stop()
	select {
	case <-tm.C:
		return true
	case <-ctx.Done():
		return false
	}
}
