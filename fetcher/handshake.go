package fetcher

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"time"

	"github.com/torrentfs/torrentfs/fetcher/peerwire"
	"github.com/torrentfs/torrentfs/metainfo"
)

// handshakeTimeout bounds an incoming connection's handshake.
const handshakeTimeout = 10 * time.Second

var errSelfConnection = errors.New("fetcher: connected to ourselves")

func (c *Client) ourHandshake(ih metainfo.InfoHash) peerwire.Handshake {
	h := peerwire.Handshake{InfoHash: ih, PeerID: c.peerID}
	h.SetExtended()
	h.SetFast()
	return h
}

func (c *Client) acceptLoop(ctx context.Context) {
	for {
		conn, err := c.ln.Accept()
		if err != nil {
			if ctx.Err() == nil && !errors.Is(err, net.ErrClosed) {
				c.log.Error("accepting peers stopped", "err", err)
			}
			return
		}
		c.wg.Go(func() { c.handleIncoming(ctx, conn) })
	}
}

// handleIncoming reads the peer's handshake, finds its torrent, answers,
// and runs the connection until it ends.
func (c *Client) handleIncoming(ctx context.Context, conn net.Conn) {
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	addr, _ := netip.ParseAddrPort(conn.RemoteAddr().String())
	conn.SetDeadline(time.Now().Add(handshakeTimeout))
	br := bufio.NewReaderSize(conn, 64<<10)
	theirs, err := peerwire.ReadHandshake(br)
	if err != nil {
		c.log.Debug("incoming handshake failed", "peer", addr, "err", err)
		conn.Close()
		return
	}
	t := c.torrent(theirs.InfoHash)
	if t == nil || theirs.PeerID == c.peerID {
		conn.Close()
		return
	}
	if err := peerwire.WriteHandshake(conn, c.ourHandshake(t.ih)); err != nil {
		conn.Close()
		return
	}
	conn.SetDeadline(time.Time{})
	t.runPeer(ctx, conn, br, addr, theirs, true)
}

// dial connects to addr and exchanges handshakes.
func (t *Torrent) dial(ctx context.Context, addr netip.AddrPort) (net.Conn, *bufio.Reader, peerwire.Handshake, error) {
	ctx, cancel := context.WithTimeout(ctx, t.c.opts.DialTimeout)
	defer cancel()
	d := t.c.bind.dialer("tcp", addr.String(), 0)
	conn, err := d.DialContext(ctx, "tcp", addr.String())
	if err != nil {
		return nil, nil, peerwire.Handshake{}, fmt.Errorf("fetcher: dial %s: %w", addr, err)
	}
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	if dl, ok := ctx.Deadline(); ok {
		conn.SetDeadline(dl)
	}
	fail := func(err error) (net.Conn, *bufio.Reader, peerwire.Handshake, error) {
		conn.Close()
		if ctx.Err() != nil {
			err = fmt.Errorf("%w (%w)", err, ctx.Err())
		}
		return nil, nil, peerwire.Handshake{}, fmt.Errorf("fetcher: handshake with %s: %w", addr, err)
	}
	if err := peerwire.WriteHandshake(conn, t.c.ourHandshake(t.ih)); err != nil {
		return fail(err)
	}
	br := bufio.NewReaderSize(conn, 64<<10)
	theirs, err := peerwire.ReadHandshake(br)
	if err != nil {
		return fail(err)
	}
	if theirs.InfoHash != t.ih {
		return fail(errors.New("peer answered for another info hash"))
	}
	if theirs.PeerID == t.c.peerID {
		return fail(errSelfConnection)
	}
	if !stop() {
		return fail(ctx.Err())
	}
	conn.SetDeadline(time.Time{})
	return conn, br, theirs, nil
}
