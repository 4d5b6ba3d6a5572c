package fetcher

import (
	"bufio"
	"context"
	"crypto/sha1"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"time"

	"github.com/torrentfs/torrentfs/fetcher/peerwire"
	"github.com/torrentfs/torrentfs/metainfo"
)

// magnetMaxMessage bounds a message from a peer while resolving: a
// metadata piece, an extension handshake, or the bitfield of a torrent of
// up to 8 million pieces.
const magnetMaxMessage = 1<<20 + 64

var (
	// errBadMetadataPeer marks a peer dropped for what it sent as metadata.
	errBadMetadataPeer = errors.New("fetcher: peer sent bad metadata")
	// errNoMetadataPeer marks a peer that does not offer the metadata.
	errNoMetadataPeer = errors.New("fetcher: peer does not offer the metadata")
)

// magnetPeer is one connection of a resolver, owned by one goroutine that
// both writes and reads it.
type magnetPeer struct {
	r    *resolver
	addr netip.AddrPort
	conn net.Conn
	dec  *peerwire.Decoder
	msg  peerwire.Message
}

// runPeer connects to addr and fetches the metadata from it, delivering it
// on r.result if it matches the info hash. It reports whether the address
// is worth another try later: not after bad metadata, nor for ourselves.
func (r *resolver) runPeer(ctx context.Context, addr netip.AddrPort) (retry bool) {
	conn, br, err := r.dial(ctx, addr)
	if err != nil {
		r.log.Debug("magnet peer: no connection", "peer", addr, "err", err)
		return !errors.Is(err, errSelfConnection)
	}
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	r.update(func(p *MagnetProgress) { p.PeersConnected++; p.PeersTried++ })
	defer r.update(func(p *MagnetProgress) { p.PeersConnected-- })
	mp := &magnetPeer{r: r, addr: addr, conn: conn, dec: peerwire.NewDecoder(br, magnetMaxMessage)}
	raw, err := mp.fetch(ctx)
	if err != nil {
		r.log.Debug("magnet peer dropped", "peer", addr, "err", err)
		if errors.Is(err, errBadMetadataPeer) {
			r.update(func(p *MagnetProgress) { p.Rejected++ })
			return false
		}
		return true
	}
	r.update(func(p *MagnetProgress) { p.MetadataBytes = int64(len(raw)) })
	select {
	case r.result <- raw:
	default: // another peer was first
	}
	return false
}

// dial connects to addr and exchanges handshakes; the peer must speak the
// extension protocol.
func (r *resolver) dial(ctx context.Context, addr netip.AddrPort) (net.Conn, *bufio.Reader, error) {
	ctx, cancel := context.WithTimeout(ctx, r.c.opts.DialTimeout)
	defer cancel()
	d := r.c.bind.dialer("tcp", addr.String(), 0)
	conn, err := d.DialContext(ctx, "tcp", addr.String())
	if err != nil {
		return nil, nil, fmt.Errorf("fetcher: dial %s: %w", addr, err)
	}
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	if dl, ok := ctx.Deadline(); ok {
		conn.SetDeadline(dl)
	}
	fail := func(err error) (net.Conn, *bufio.Reader, error) {
		conn.Close()
		if ctx.Err() != nil {
			err = fmt.Errorf("%w (%w)", err, ctx.Err())
		}
		return nil, nil, fmt.Errorf("fetcher: handshake with %s: %w", addr, err)
	}
	if err := peerwire.WriteHandshake(conn, r.c.ourHandshake(r.ih)); err != nil {
		return fail(err)
	}
	br := bufio.NewReaderSize(conn, 32<<10)
	theirs, err := peerwire.ReadHandshake(br)
	if err != nil {
		return fail(err)
	}
	switch {
	case theirs.InfoHash != r.ih:
		return fail(errors.New("peer answered for another info hash"))
	case theirs.PeerID == r.c.peerID:
		return fail(errSelfConnection)
	case !theirs.Extended():
		return fail(fmt.Errorf("%w: no extension protocol", errNoMetadataPeer))
	}
	if !stop() {
		return fail(ctx.Err())
	}
	conn.SetDeadline(time.Time{})
	return conn, br, nil
}

// fetch sends our extension handshake, reads the peer's, and fetches every
// metadata piece from this peer, then checks the whole against the info
// hash.
func (mp *magnetPeer) fetch(ctx context.Context) ([]byte, error) {
	r := mp.r
	hs, err := metainfo.Encode(map[string]any{
		"m":    map[string]any{extMetadata: int64(extMetadataID)},
		"v":    "torrentfs " + Version,
		"p":    int64(r.c.port),
		"reqq": int64(ourReqq),
	})
	if err != nil {
		return nil, fmt.Errorf("fetcher: encoding our extension handshake: %w", err)
	}
	if err := mp.send(peerwire.Message{ID: peerwire.Extended, ExtendedID: 0, Payload: hs}); err != nil {
		return nil, err
	}
	theirID, size, err := mp.readExtHandshake()
	if err != nil {
		return nil, err
	}
	r.update(func(p *MagnetProgress) { p.PeersWithMeta++; p.MetadataSize = size })

	// Take a fetch slot.
	select {
	case r.slots <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	defer func() { <-r.slots }()
	defer func() {
		r.mu.Lock()
		delete(r.fetched, mp)
		r.mu.Unlock()
	}()

	buf := make([]byte, size)
	n := metadataPieces(size)
	got := make([]bool, n)
	asked := make([]bool, n)
	next, outstanding, have := 0, 0, 0
	var received int64
	// Each piece must come within magnetPeerTimeout of the last: other
	// messages do not move the deadline.
	mp.conn.SetReadDeadline(time.Now().Add(magnetPeerTimeout))
	for have < n {
		for outstanding < magnetPipeline && next < n {
			req := appendMetadataMsg(nil, metadataMsg{Type: metaRequest, Piece: next})
			if err := mp.send(peerwire.Message{ID: peerwire.Extended, ExtendedID: theirID, Payload: req}); err != nil {
				return nil, err
			}
			asked[next] = true
			next++
			outstanding++
		}
		payload, err := mp.readMetadataMsg()
		if err != nil {
			return nil, err
		}
		m, err := parseMetadataMsg(payload)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", errBadMetadataPeer, err)
		}
		switch m.Type {
		case metaReject:
			return nil, fmt.Errorf("%w: it rejected our request for piece %d", errNoMetadataPeer, m.Piece)
		case metaRequest:
			// We have nothing to serve yet: say so rather than stay silent.
			rej := appendMetadataMsg(nil, metadataMsg{Type: metaReject, Piece: m.Piece})
			if err := mp.send(peerwire.Message{ID: peerwire.Extended, ExtendedID: theirID, Payload: rej}); err != nil {
				return nil, err
			}
			continue
		case metaData:
		default:
			continue // an unknown type
		}
		switch {
		case m.TotalSize != size:
			return nil, fmt.Errorf("%w: total_size %d, but its handshake said metadata_size %d", errBadMetadataPeer, m.TotalSize, size)
		case m.Piece >= n || !asked[m.Piece]:
			return nil, fmt.Errorf("%w: piece %d we did not ask for", errBadMetadataPeer, m.Piece)
		case got[m.Piece]:
			continue // a duplicate
		case len(m.Data) != metadataPieceLen(size, m.Piece):
			return nil, fmt.Errorf("%w: piece %d has %d bytes, want %d", errBadMetadataPeer, m.Piece, len(m.Data), metadataPieceLen(size, m.Piece))
		}
		copy(buf[m.Piece*metadataPieceSize:], m.Data)
		got[m.Piece] = true
		have++
		mp.conn.SetReadDeadline(time.Now().Add(magnetPeerTimeout))
		outstanding--
		received += int64(len(m.Data))
		r.mu.Lock()
		r.fetched[mp] = received
		r.mu.Unlock()
		r.poke()
	}
	if metainfo.InfoHash(sha1.Sum(buf)) != r.ih {
		return nil, fmt.Errorf("%w: its info dictionary's SHA-1 is not the info hash", errBadMetadataPeer)
	}
	return buf, nil
}

// readExtHandshake reads messages until the peer's extension handshake and
// returns its id for ut_metadata and its metadata_size.
func (mp *magnetPeer) readExtHandshake() (uint8, int64, error) {
	mp.conn.SetReadDeadline(time.Now().Add(magnetPeerTimeout))
	for {
		if err := mp.read(); err != nil {
			return 0, 0, err
		}
		if mp.msg.Keepalive || mp.msg.ID != peerwire.Extended || mp.msg.ExtendedID != 0 {
			continue
		}
		v, err := metainfo.Decode(mp.msg.Payload)
		if err != nil {
			return 0, 0, fmt.Errorf("%w: malformed extension handshake: %w", errNoMetadataPeer, err)
		}
		d, _ := v.(map[string]any)
		m, _ := d["m"].(map[string]any)
		id, ok := m[extMetadata].(int64)
		if !ok || id <= 0 || id > 255 {
			return 0, 0, fmt.Errorf("%w: no ut_metadata in its extension handshake", errNoMetadataPeer)
		}
		size, ok := d["metadata_size"].(int64)
		if !ok {
			return 0, 0, fmt.Errorf("%w: no metadata_size in its extension handshake", errNoMetadataPeer)
		}
		if size <= 0 || size > MaxMetadataSize {
			return 0, 0, fmt.Errorf("%w: metadata_size %d is not in 1..%d", errBadMetadataPeer, size, MaxMetadataSize)
		}
		return uint8(id), size, nil
	}
}

// readMetadataMsg reads messages until a ut_metadata one and returns its
// payload, valid until the next read.
func (mp *magnetPeer) readMetadataMsg() ([]byte, error) {
	for {
		if err := mp.read(); err != nil {
			return nil, err
		}
		if !mp.msg.Keepalive && mp.msg.ID == peerwire.Extended && mp.msg.ExtendedID == extMetadataID {
			return mp.msg.Payload, nil
		}
	}
}

// read decodes the next message into mp.msg. It fails at the deadline
// set by its caller: messages other than the ones awaited (keep-alives,
// haves) do not move it.
func (mp *magnetPeer) read() error {
	if err := mp.dec.Decode(&mp.msg); err != nil {
		return fmt.Errorf("fetcher: reading from %s: %w", mp.addr, err)
	}
	return nil
}

// send writes one message.
func (mp *magnetPeer) send(m peerwire.Message) error {
	mp.conn.SetWriteDeadline(time.Now().Add(writeTimeout))
	if _, err := mp.conn.Write(peerwire.AppendMessage(nil, &m)); err != nil {
		return fmt.Errorf("fetcher: writing to %s: %w", mp.addr, err)
	}
	return nil
}
