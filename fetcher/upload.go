package fetcher

import (
	"context"
	"fmt"

	"github.com/torrentfs/torrentfs/fetcher/peerwire"
)

// handleRequestLocked validates a peer's request and queues it for the
// write loop, which reads the block from storage outside any lock.
func (t *Torrent) handleRequestLocked(p *peer, m *peerwire.Message) error {
	n := t.info.NumPieces()
	if int(m.Index) >= n {
		return fmt.Errorf("%w: request for piece %d of %d", errProtocol, m.Index, n)
	}
	size := t.info.PieceSize(int(m.Index))
	if m.Length == 0 || m.Length > peerwire.BlockSize || int64(m.Begin)+int64(m.Length) > size {
		return fmt.Errorf("%w: request for %d bytes at %d of piece %d (size %d)", errProtocol, m.Length, m.Begin, m.Index, size)
	}
	reject := func() {
		if p.fast {
			p.queue(&peerwire.Message{ID: peerwire.Reject, Index: m.Index, Begin: m.Begin, Length: m.Length})
		}
	}
	// A choked peer may still ask for its allowed-fast pieces (BEP 6).
	if (p.amChoking && !p.ch.allowsFast(m.Index)) || !t.have.Has(int(m.Index)) {
		reject()
		return nil
	}
	p.outMu.Lock()
	full := len(p.uploads) >= maxUploadQueue
	if !full {
		p.uploads = append(p.uploads, peerwire.Message{ID: peerwire.Request, Index: m.Index, Begin: m.Begin, Length: m.Length})
	}
	p.outMu.Unlock()
	if full {
		reject()
		return nil
	}
	p.wakeWriter()
	return nil
}

// cancelUpload drops a queued request the peer no longer wants.
func (p *peer) cancelUpload(m *peerwire.Message) {
	p.outMu.Lock()
	defer p.outMu.Unlock()
	for i, u := range p.uploads {
		if u.Index == m.Index && u.Begin == m.Begin && u.Length == m.Length {
			p.uploads = append(p.uploads[:i], p.uploads[i+1:]...)
			return
		}
	}
}

// runLen is how many requests at the start of ups ask for consecutive
// bytes of one piece.
func runLen(ups []peerwire.Message) int {
	n := 1
	for n < len(ups) && ups[n].Index == ups[0].Index && ups[n].Begin == ups[n-1].Begin+ups[n-1].Length {
		n++
	}
	return n
}

// appendRun serves requests for consecutive bytes of one piece with one
// read (one cache lookup, each CRC chunk checked once, where reading each
// 16 KiB block alone checks its whole 64 KiB chunk) and appends them as
// piece messages. scratch is reused across calls. On error dst is as it
// was and nothing was counted.
func (t *Torrent) appendRun(ctx context.Context, dst []byte, run []peerwire.Message, scratch *[]byte) ([]byte, error) {
	total := 0
	for _, r := range run {
		total += int(r.Length)
	}
	if cap(*scratch) < total {
		*scratch = make([]byte, total)
	}
	data := (*scratch)[:total]
	if err := t.readVerified(ctx, int(run[0].Index), data, int64(run[0].Begin)); err != nil {
		return dst, err
	}
	for _, r := range run {
		var block []byte
		dst, block = peerwire.AppendPiece(dst, r.Index, r.Begin, int(r.Length))
		data = data[copy(block, data):]
	}
	t.uploaded.Add(int64(total))
	return dst, nil
}

// appendBlock reads a requested block and appends it as a piece message.
func (t *Torrent) appendBlock(ctx context.Context, dst []byte, r peerwire.Message) ([]byte, error) {
	// Frame the message, then read the block straight into its place.
	start := len(dst)
	dst, block := peerwire.AppendPiece(dst, r.Index, r.Begin, int(r.Length))
	if err := t.readVerified(ctx, int(r.Index), block, int64(r.Begin)); err != nil {
		return dst[:start], err
	}
	t.uploaded.Add(int64(r.Length))
	return dst, nil
}
