package fetcher

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/torrentfs/torrentfs/fetcher/peerwire"
)

// errProtocol marks a peer that broke the protocol; it is disconnected.
var errProtocol = errors.New("fetcher: peer broke the protocol")

// readLoop decodes and handles the peer's messages until the connection
// fails or the peer misbehaves.
func (p *peer) readLoop(ctx context.Context, br *bufio.Reader) error {
	t := p.t
	dec := peerwire.NewDecoder(br, t.maxMessageLength())
	var m peerwire.Message
	for {
		if err := dec.Decode(&m); err != nil {
			return err
		}
		var job *pieceState
		var err error
		t.mu.Lock()
		p.lastRecv = time.Now()
		if !m.Keepalive {
			job, err = t.handleLocked(p, &m)
		}
		t.mu.Unlock()
		if err != nil {
			p.log.Debug("dropping peer", "err", err)
			return err
		}
		if job != nil {
			if err := t.c.submitHash(ctx, t, job); err != nil {
				return err
			}
		}
	}
}

// maxMessageLength is the largest message a peer may send: a block, the
// bitfield, or an extension message, whichever is larger.
func (t *Torrent) maxMessageLength() uint32 {
	return uint32(max(peerwire.BlockSize+9, (t.info.NumPieces()+7)/8+1, 1<<18))
}

// handleLocked applies one message. It returns a piece that is now
// complete and must be hash-checked, or an error that ends the peer.
func (t *Torrent) handleLocked(p *peer, m *peerwire.Message) (*pieceState, error) {
	now := time.Now()
	n := t.info.NumPieces()
	switch m.ID {
	case peerwire.Choke:
		p.peerChoking = true
		if !p.fast {
			// Without the fast extension a choke discards our requests.
			t.dropRequestsLocked(p)
			t.fillAllLocked(now)
		}
	case peerwire.Unchoke:
		p.peerChoking = false
		t.fillPeerLocked(p, now)
	case peerwire.Interested:
		p.peerInterested = true
		t.onInterestedLocked(p, now)
	case peerwire.NotInterested:
		p.peerInterested = false
		t.onNotInterestedLocked(p, now)
	case peerwire.Have:
		if int(m.Index) >= n {
			return nil, fmt.Errorf("%w: have for piece %d of %d", errProtocol, m.Index, n)
		}
		p.bitfield.Set(int(m.Index))
		if !p.amInterested && !t.have.Has(int(m.Index)) {
			p.amInterested = true
			p.queue(&peerwire.Message{ID: peerwire.Interested})
		}
		t.fillPeerLocked(p, now)
	case peerwire.Bitfield:
		if err := peerwire.ValidateBitfield(m.Bitfield, n); err != nil {
			return nil, fmt.Errorf("%w: %w", errProtocol, err)
		}
		copy(p.bitfield, m.Bitfield)
		t.updateInterestLocked(p)
		t.fillPeerLocked(p, now)
	case peerwire.HaveAll, peerwire.HaveNone:
		if !p.fast {
			return nil, fmt.Errorf("%w: %s without the fast extension", errProtocol, m.ID)
		}
		p.haveAll = m.ID == peerwire.HaveAll
		t.updateInterestLocked(p)
		t.fillPeerLocked(p, now)
	case peerwire.Request:
		return nil, t.handleRequestLocked(p, m)
	case peerwire.Cancel:
		p.cancelUpload(m)
	case peerwire.Piece:
		return t.handleBlockLocked(p, m, now)
	case peerwire.Reject:
		if !p.fast {
			return nil, fmt.Errorf("%w: reject without the fast extension", errProtocol)
		}
		k := blockKey{m.Index, m.Begin}
		if _, ok := p.out[k]; ok {
			delete(p.out, k)
			if ps := t.pieces[int(m.Index)]; ps != nil {
				ps.dropReq(int(m.Begin)/peerwire.BlockSize, p)
			}
			t.freedLocked()
			t.fillAllLocked(now)
		}
	case peerwire.AllowedFast:
		if int(m.Index) < n {
			p.allowedFast[m.Index] = true
			t.fillPeerLocked(p, now)
		}
	case peerwire.Extended:
		if !p.extended {
			return nil, fmt.Errorf("%w: extended message without the extension protocol", errProtocol)
		}
		return nil, t.handleExtendedLocked(p, m)
	case peerwire.Suggest, peerwire.Port:
		// Ignored: we fetch what readers want (see fastext.go), and run
		// no DHT yet.
	}
	return nil, nil
}

// updateInterestLocked tells p whether it has pieces we lack.
func (t *Torrent) updateInterestLocked(p *peer) {
	want := false
	if t.haveCount < t.info.NumPieces() {
		if p.haveAll {
			want = true
		} else {
			for i := range t.info.NumPieces() {
				if p.bitfield.Has(i) && !t.have.Has(i) {
					want = true
					break
				}
			}
		}
	}
	if want != p.amInterested {
		p.amInterested = want
		id := peerwire.NotInterested
		if want {
			id = peerwire.Interested
		}
		p.queue(&peerwire.Message{ID: id})
	}
}

// handleBlockLocked stores a received block in its piece.
func (t *Torrent) handleBlockLocked(p *peer, m *peerwire.Message, now time.Time) (*pieceState, error) {
	k := blockKey{m.Index, m.Begin}
	at, requested := p.out[k]
	delete(p.out, k)
	if requested {
		if lat := now.Sub(at); p.latency == 0 {
			p.latency = lat
		} else {
			p.latency = (7*p.latency + lat) / 8
		}
	}
	ps := t.pieces[int(m.Index)]
	if int(m.Index) >= t.info.NumPieces() || m.Begin%peerwire.BlockSize != 0 {
		return nil, fmt.Errorf("%w: block at piece %d offset %d", errProtocol, m.Index, m.Begin)
	}
	p.recvBytes += int64(len(m.Block))
	t.downloaded.Add(int64(len(m.Block)))
	if ps == nil || ps.verifying {
		t.fillPeerLocked(p, now)
		return nil, nil // late duplicate or unrequested: drop it
	}
	b := int(m.Begin) / peerwire.BlockSize
	if b >= ps.nblocks {
		return nil, fmt.Errorf("%w: block at piece %d offset %d is past the piece's end", errProtocol, m.Index, m.Begin)
	}
	_, length := ps.blockBounds(b)
	if len(m.Block) != length {
		if requested {
			return nil, fmt.Errorf("%w: block at piece %d offset %d has %d bytes, want %d", errProtocol, m.Index, m.Begin, len(m.Block), length)
		}
		return nil, nil
	}
	if ps.got[b] {
		ps.dropReq(b, p) // frees nothing: the block is received
		t.fillPeerLocked(p, now)
		return nil, nil
	}
	if !requested {
		return nil, nil // we never asked this peer: ignore it
	}
	p.lastProgress = now
	job := t.acceptBlockLocked(ps, b, p, m.Block, now)
	t.fillPeerLocked(p, now)
	return job, nil
}

// acceptBlockLocked stores block b of ps, received from p (a peer or a web
// seed), and cancels every other request for it. It returns ps if the
// piece is now complete and must be hash-checked. The block must not be
// received yet and data must be exactly its length.
func (t *Torrent) acceptBlockLocked(ps *pieceState, b int, p *peer, data []byte, now time.Time) *pieceState {
	begin, length := ps.blockBounds(b)
	k := blockKey{uint32(ps.index), uint32(begin)}
	copy(ps.buf[begin:begin+length], data)
	ps.got[b] = true
	ps.sender[b] = p
	ps.numGot++
	for _, r := range ps.reqs[b] {
		if r.p == p {
			continue
		}
		delete(r.p.out, k)
		if r.p.isWebseed() {
			continue // no connection: its fetch result is dropped on delivery
		}
		r.p.queue(&peerwire.Message{ID: peerwire.Cancel, Index: k.index, Begin: k.begin, Length: uint32(length)})
		t.fillPeerLocked(r.p, now)
	}
	ps.reqs[b] = ps.reqs[b][:0]
	if ps.numGot == ps.nblocks {
		ps.verifying = true
		return ps
	}
	return nil
}
