package fetcher

import (
	"bytes"
	"context"
	"crypto/sha1"
	"time"

	"github.com/torrentfs/torrentfs/fetcher/peerwire"
)

// storeJob is a verified piece waiting to be written to storage.
type storeJob struct {
	t   *Torrent
	i   int
	buf []byte
}

// submitStore queues a verified piece for a store worker.
func (c *Client) submitStore(ctx context.Context, t *Torrent, i int, buf []byte) error {
	c.pending.Add(1)
	select {
	case c.storeQ <- storeJob{t, i, buf}:
		return nil
	case <-ctx.Done():
		c.pending.Add(-1)
		return ctx.Err()
	}
}

func (c *Client) storeWorker(ctx context.Context) {
	for {
		select {
		case j := <-c.storeQ:
			err := j.t.storage.Put(ctx, j.t.ih, j.i, j.buf)
			j.t.pieceStored(j.i, j.buf, err)
			c.pending.Add(-1)
		case <-ctx.Done():
			return
		}
	}
}

// hashJob is a complete piece waiting for its SHA-1 check.
type hashJob struct {
	t  *Torrent
	ps *pieceState
}

// submitHash queues a complete piece for checking.
func (c *Client) submitHash(ctx context.Context, t *Torrent, ps *pieceState) error {
	c.pending.Add(1)
	select {
	case c.hashQ <- hashJob{t, ps}:
		return nil
	case <-ctx.Done():
		c.pending.Add(-1)
		return ctx.Err()
	}
}

func (c *Client) hashWorker(ctx context.Context) {
	for {
		select {
		case j := <-c.hashQ:
			j.t.verify(ctx, j.ps)
			c.pending.Add(-1)
		case <-ctx.Done():
			return
		}
	}
}

// verify checks a complete piece. A piece that matches is readable at
// once from its buffer, and is handed to a store worker; one that does not
// is thrown away and its senders blamed. While ps.verifying is set nothing
// writes to ps.buf, so it is read here without the lock.
func (t *Torrent) verify(ctx context.Context, ps *pieceState) {
	if sha1.Sum(ps.buf) != t.info.Pieces[ps.index] {
		t.pieceFailed(ps)
		return
	}
	buf := t.pieceVerified(ps)
	if err := t.c.submitStore(ctx, t, ps.index, buf); err != nil {
		t.pieceStored(ps.index, buf, err)
	}
}

// pieceVerified makes a verified piece readable from memory and returns
// its buffer, which stays counted in the in-flight budget until stored.
func (t *Torrent) pieceVerified(ps *pieceState) []byte {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.pieces, ps.index)
	if ps.failed != nil {
		t.judgeLocked(ps)
	}
	buf := ps.buf
	ps.buf = nil
	t.unstored[ps.index] = buf
	t.markHaveLocked(ps.index)
	return buf
}

// pieceStored releases a verified piece's buffer once storage took it. If
// storage refused it, it is kept in memory (a few pieces at most) so that
// reads go on working while the disk is in trouble.
func (t *Torrent) pieceStored(i int, buf []byte, putErr error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.unstored, i)
	t.c.releaseBudget(t, int64(len(buf)))
	if putErr != nil {
		t.log.Warn("cache refused a verified piece; keeping it in memory", "piece", i, "err", putErr)
		t.keepInMemoryLocked(i, buf)
	} else {
		t.putBuf(buf)
	}
	t.fillAllLocked(time.Now()) // the budget has room again
}

// markHaveLocked records a verified piece: wakes its readers, tells peers.
func (t *Torrent) markHaveLocked(i int) {
	if !t.have.Has(i) {
		t.have.Set(i)
		t.haveCount++
	}
	if w, ok := t.waiters[i]; ok {
		close(w.ch)
		delete(t.waiters, i)
	}
	t.wantDirty = true
	done := t.haveCount == t.info.NumPieces()
	for p := range t.peers {
		if !p.hasLocked(i) {
			p.queue(&peerwire.Message{ID: peerwire.Have, Index: uint32(i)})
		}
		if done {
			t.updateInterestLocked(p)
		}
	}
	t.fillAllLocked(time.Now())
}

// keepInMemoryLocked holds a verified piece that storage refused, evicting
// the oldest such piece past maxMemPieces.
func (t *Torrent) keepInMemoryLocked(i int, buf []byte) {
	t.memPieces[i] = buf
	t.memOrder = append(t.memOrder, i)
	for len(t.memOrder) > maxMemPieces {
		old := t.memOrder[0]
		t.memOrder = t.memOrder[1:]
		t.putBuf(t.memPieces[old])
		delete(t.memPieces, old)
		if !t.storage.Has(t.ih, old) {
			t.have.Clear(old)
			t.haveCount--
		}
	}
}

// pieceFailed throws away a piece whose hash did not match and blames the
// peers that sent its blocks.
func (t *Torrent) pieceFailed(ps *pieceState) {
	t.mu.Lock()
	defer t.mu.Unlock()
	senders := map[*peer]bool{}
	for _, p := range ps.sender {
		if p != nil {
			senders[p] = true
		}
	}
	t.log.Warn("piece failed its hash check", "piece", ps.index, "peers", len(senders))
	if ps.excluded == nil {
		ps.excluded = map[*peer]bool{}
	}
	for p := range senders {
		p.hashFails++
		ps.excluded[p] = true
		if len(senders) == 1 || p.hashFails >= maxHashFails {
			t.banLocked(p, "sent data that failed hash checks")
		}
	}
	ps.failed = append(ps.failed[:0], ps.buf...)
	ps.failedSender = append(ps.failedSender[:0], ps.sender...)
	ps.reset()
	t.freedLocked()
	t.fillAllLocked(time.Now())
}

// maxHashFails is how many failed pieces a peer may share in before it is
// banned without proof of which blocks it sent were wrong.
const maxHashFails = 3

// judgeLocked compares a piece that verified with its earlier copy that
// failed: the senders of blocks that differ sent bad data and are banned;
// those whose blocks were right are cleared of the failure.
func (t *Torrent) judgeLocked(ps *pieceState) {
	guilty := map[*peer]bool{}
	innocent := map[*peer]bool{}
	for b := range ps.nblocks {
		q := ps.failedSender[b]
		if q == nil {
			continue
		}
		begin, length := ps.blockBounds(b)
		if bytes.Equal(ps.failed[begin:begin+length], ps.buf[begin:begin+length]) {
			innocent[q] = true
		} else {
			guilty[q] = true
		}
	}
	for q := range guilty {
		if !q.gone {
			t.banLocked(q, "sent a block that failed its hash check")
		} else if a := t.known[q.addr]; a != nil {
			a.banned = true
		}
	}
	for q := range innocent {
		if !guilty[q] && q.hashFails > 0 {
			q.hashFails--
		}
	}
	ps.failed, ps.failedSender = nil, nil
}

// banLocked disconnects p and never connects to its address again.
// A web seed has no connection or address: it is disabled instead.
func (t *Torrent) banLocked(p *peer, why string) {
	if p.isWebseed() {
		if !p.gone {
			p.gone = true
			p.log.Warn("disabling web seed", "why", why)
		}
		return
	}
	p.log.Warn("banning peer", "why", why)
	a := t.known[p.addr]
	if a == nil {
		a = &peerAddr{}
		t.known[p.addr] = a
	}
	a.banned = true
	p.conn.Close()
}
