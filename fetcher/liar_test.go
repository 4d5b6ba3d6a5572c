package fetcher_test

import (
	"bufio"
	"bytes"
	"context"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/torrentfs/torrentfs/fetcher/peerwire"
	"github.com/torrentfs/torrentfs/internal/leakcheck"
)

// liar is a peer that claims every piece and serves blocks whose bytes are
// flipped for the pieces in bad.
type liar struct {
	f      *fixture
	bad    func(piece int) bool
	ln     net.Listener
	wg     sync.WaitGroup
	served atomic.Int64 // corrupt blocks sent
	conns  atomic.Int64
	mu     sync.Mutex // guards open
	open   map[net.Conn]bool
}

func startLiar(t *testing.T, f *fixture, bad func(int) bool) (*liar, netip.AddrPort) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l := &liar{f: f, bad: bad, ln: ln, open: map[net.Conn]bool{}}
	l.wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			l.conns.Add(1)
			l.mu.Lock()
			l.open[c] = true
			l.mu.Unlock()
			l.wg.Go(func() { l.serve(c) })
		}
	})
	t.Cleanup(func() {
		ln.Close()
		l.mu.Lock()
		for c := range l.open {
			c.Close()
		}
		l.mu.Unlock()
		l.wg.Wait()
	})
	return l, netip.MustParseAddrPort(ln.Addr().String())
}

func (l *liar) serve(c net.Conn) {
	defer func() {
		c.Close()
		l.mu.Lock()
		delete(l.open, c)
		l.mu.Unlock()
	}()
	br := bufio.NewReader(c)
	hs, err := peerwire.ReadHandshake(br)
	if err != nil {
		return
	}
	ours := peerwire.Handshake{InfoHash: hs.InfoHash}
	copy(ours.PeerID[:], "-LI0001-liarliarliar")
	if err := peerwire.WriteHandshake(c, ours); err != nil {
		return
	}
	all := peerwire.NewBitfield(l.f.mi.Info.NumPieces())
	all.SetAll(l.f.mi.Info.NumPieces())
	out := peerwire.AppendMessage(nil, &peerwire.Message{ID: peerwire.Bitfield, Bitfield: all})
	out = peerwire.AppendMessage(out, &peerwire.Message{ID: peerwire.Unchoke})
	if _, err := c.Write(out); err != nil {
		return
	}
	dec := peerwire.NewDecoder(br, 1<<20)
	var m peerwire.Message
	for dec.Decode(&m) == nil {
		if m.ID != peerwire.Request {
			continue
		}
		block := append([]byte(nil), l.f.piece(int(m.Index))[m.Begin:m.Begin+m.Length]...)
		if l.bad(int(m.Index)) {
			block[0] ^= 0xff
			l.served.Add(1)
		}
		if _, err := c.Write(peerwire.AppendMessage(nil, &peerwire.Message{ID: peerwire.Piece, Index: m.Index, Begin: m.Begin, Block: block})); err != nil {
			return
		}
	}
}

func TestBadPieceIsFetchedAgainFromAnotherPeer(t *testing.T) {
	defer leakcheck.Check(t)()
	f := newFixture(t, 32<<10, 200000)
	l, liarAddr := startLiar(t, f, func(p int) bool { return p == 2 })
	_, tor := leech(t, f, nil)
	// Only the liar at first: the reader must not get its bytes.
	tor.AddPeers(liarAddr)
	r := tor.NewReader(0)
	defer r.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	type result struct {
		b   []byte
		err error
	}
	done := make(chan result, 1)
	go func() {
		b, err := readAll(ctx, r, 10000)
		done <- result{b, err}
	}()
	deadline := time.Now().Add(10 * time.Second)
	for l.served.Load() == 0 || tor.Stats().Peers != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("the liar served %d bad blocks and is still connected (%d peers)", l.served.Load(), tor.Stats().Peers)
		}
		time.Sleep(10 * time.Millisecond)
	}
	select {
	case res := <-done:
		t.Fatalf("the read finished with only a liar to serve piece 2: err %v", res.err)
	default:
	}
	_, honest := startSeeder(t, f)
	tor.AddPeers(honest, liarAddr)
	res := <-done
	if res.err != nil || !bytes.Equal(res.b, f.files[0]) {
		t.Fatalf("read after the bad piece: err %v, bytes equal %v", res.err, bytes.Equal(res.b, f.files[0]))
	}
	if n := l.conns.Load(); n != 1 {
		t.Fatalf("the banned liar was connected to %d times, want 1", n)
	}
}

func TestLiarAmongHonestPeersIsBannedAndHonestOnesStay(t *testing.T) {
	defer leakcheck.Check(t)()
	f := newFixture(t, 64<<10, 2<<20)
	l, liarAddr := startLiar(t, f, func(int) bool { return true })
	_, h1 := startSeeder(t, f)
	_, h2 := startSeeder(t, f)
	_, tor := leech(t, f, nil, liarAddr, h1, h2)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	r := tor.NewReader(0)
	defer r.Close()
	got, err := readAll(ctx, r, 128<<10)
	if err != nil || !bytes.Equal(got, f.files[0]) {
		t.Fatalf("err %v, bytes equal %v", err, bytes.Equal(got, f.files[0]))
	}
	if l.served.Load() == 0 {
		t.Skip("the liar was never asked for a block; nothing to judge")
	}
	if n := tor.Stats().Peers; n != 2 {
		t.Fatalf("%d peers connected at the end, want the 2 honest ones", n)
	}
}
