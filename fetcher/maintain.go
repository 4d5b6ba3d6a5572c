package fetcher

import (
	"context"
	"errors"
	"net/netip"
	"time"

	"github.com/torrentfs/torrentfs/fetcher/peerwire"
)

const (
	// tick is how often peers' rates, timeouts and connections are reviewed.
	tick = time.Second
	// maxDialing bounds concurrent outgoing connection attempts per torrent.
	maxDialing = 8
	// pipelineTime: a peer's pipeline holds about this much of its rate.
	pipelineTime = time.Second
	// minMaxOut is the smallest pipeline a peer gets.
	minMaxOut = 4
	// lateCheck is how often, while a read waits, the picker looks for
	// blocks of the pieces it waits on that are late at their peer and
	// should be asked of another (pickLateLocked). Events (a block, an
	// unchoke) drive the picker otherwise, and a block stuck behind a slow
	// peer's queue produces none.
	lateCheck = minLate
)

// maintainLoop reviews peers once a tick, connects to new addresses
// whenever it is woken, and refills pipelines when another torrent gave
// back in-flight budget this one lacked.
//
// While reads wait, it also checks every lateCheck for late blocks.
func (t *Torrent) maintainLoop(ctx context.Context) {
	ticker := time.NewTicker(tick)
	defer ticker.Stop()
	late := time.NewTimer(time.Hour)
	late.Stop()
	defer late.Stop()
	lateArmed := false
	last := time.Now()
	for {
		select {
		case now := <-ticker.C:
			t.review(now, now.Sub(last))
			last = now
		case <-t.kick:
		case <-t.refill:
			t.mu.Lock()
			t.fillAllLocked(time.Now())
			t.mu.Unlock()
		case <-t.blocked:
			if !lateArmed {
				late.Reset(lateCheck)
				lateArmed = true
			}
			continue
		case <-late.C:
			t.mu.Lock()
			waiting := len(t.waiters) > 0
			if waiting {
				t.fillAllLocked(time.Now())
			}
			t.mu.Unlock()
			if lateArmed = waiting; waiting {
				late.Reset(lateCheck)
			}
			continue
		case <-ctx.Done():
			return
		}
		t.dialSome(ctx)
	}
}

// review updates rates and pipeline depths, takes requests back from
// snubbing peers, drops silent ones, and retries late blocks elsewhere.
func (t *Torrent) review(now time.Time, elapsed time.Duration) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.bestRate = 0
	for p := range t.peers {
		// Measure only peers that had work: an idle peer's rate says
		// nothing about how fast it can send.
		if p.recvBytes > 0 || len(p.out) > 0 {
			inst := float64(p.recvBytes) / max(elapsed.Seconds(), 0.001)
			if p.rate == 0 {
				p.rate = inst
			} else {
				p.rate = 0.5*p.rate + 0.5*inst
			}
			p.recvBytes = 0
			limit := maxOutCap
			if p.reqq > 0 {
				limit = p.reqq
			}
			want := int(p.rate * pipelineTime.Seconds() / peerwire.BlockSize)
			p.maxOut = min(max(want, minMaxOut), limit)
		}
		t.bestRate = max(t.bestRate, p.rate)
		switch {
		case now.Sub(p.lastRecv) > silentTimeout:
			p.log.Debug("dropping silent peer")
			p.conn.Close()
		case len(p.out) > 0 && now.Sub(p.lastProgress) > snubTimeout:
			p.log.Debug("peer is snubbing us; taking its requests back", "outstanding", len(p.out))
			for k := range p.out {
				p.queue(&peerwire.Message{ID: peerwire.Cancel, Index: k.index, Begin: k.begin,
					Length: uint32(min(int64(peerwire.BlockSize), t.info.PieceSize(int(k.index))-int64(k.begin)))})
			}
			t.dropRequestsLocked(p)
			p.lastProgress = now
		}
	}
	t.demoteIdleLocked(now)
	t.chokeTickLocked(now)
	if !t.info.Private {
		t.pexTickLocked(now)
	}
	t.wantDirty = true
	t.fillAllLocked(now)
}

// dialSome connects to known addresses while there is room.
func (t *Torrent) dialSome(ctx context.Context) {
	now := time.Now()
	var todo []netip.AddrPort
	t.mu.Lock()
	if t.haveCount == t.info.NumPieces() || t.closed {
		t.mu.Unlock()
		return // a seed waits for leechers to come to it
	}
	room := min(t.c.opts.MaxPeers-len(t.peers)-t.dialing, maxDialing-t.dialing)
	for a, st := range t.known {
		if room <= 0 {
			break
		}
		if st.connected || st.banned || st.dialing || now.Before(st.nextTry) || t.isOurAddr(a) {
			continue
		}
		st.dialing = true
		t.dialing++
		room--
		todo = append(todo, a)
	}
	t.mu.Unlock()
	for _, a := range todo {
		t.c.wg.Go(func() { t.dialAndRun(ctx, a) })
	}
}

func (t *Torrent) dialAndRun(ctx context.Context, a netip.AddrPort) {
	conn, br, hs, err := t.dial(ctx, a)
	t.mu.Lock()
	t.dialing--
	st := t.known[a]
	st.dialing = false
	if err != nil {
		st.failures++
		st.nextTry = time.Now().Add(min(time.Duration(st.failures)*15*time.Second, 5*time.Minute))
		if errors.Is(err, errSelfConnection) {
			st.banned = true
		}
	} else {
		st.failures = 0
	}
	t.mu.Unlock()
	if err != nil {
		t.log.Debug("connecting to peer failed", "peer", a, "err", err)
		return
	}
	t.runPeer(ctx, conn, br, a, hs, false)
}

// isOurAddr reports whether a is our own listening address.
func (t *Torrent) isOurAddr(a netip.AddrPort) bool {
	return a.Port() == t.c.port && (a.Addr().IsLoopback() || a.Addr().IsUnspecified()) && t.c.listensOn(a.Addr())
}
