package fetcher_test

import (
	"bufio"
	"context"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/torrentfs/torrentfs/fetcher/peerwire"
	"github.com/torrentfs/torrentfs/internal/leakcheck"
)

// mutePeer claims every piece, unchokes, and never sends a block: it only
// reports the requests and cancels it receives.
func startMutePeer(t *testing.T, f *fixture) (netip.AddrPort, <-chan peerwire.Message) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	msgs := make(chan peerwire.Message, 1<<16)
	done := make(chan struct{})
	go func() {
		defer close(done)
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		br := bufio.NewReader(c)
		hs, err := peerwire.ReadHandshake(br)
		if err != nil {
			return
		}
		ours := peerwire.Handshake{InfoHash: hs.InfoHash}
		copy(ours.PeerID[:], "-MU0001-mutemutemute")
		peerwire.WriteHandshake(c, ours)
		all := peerwire.NewBitfield(f.mi.Info.NumPieces())
		all.SetAll(f.mi.Info.NumPieces())
		out := peerwire.AppendMessage(nil, &peerwire.Message{ID: peerwire.Bitfield, Bitfield: all})
		out = peerwire.AppendMessage(out, &peerwire.Message{ID: peerwire.Unchoke})
		c.Write(out)
		dec := peerwire.NewDecoder(br, 1<<20)
		var m peerwire.Message
		for dec.Decode(&m) == nil {
			if m.ID == peerwire.Request || m.ID == peerwire.Cancel {
				msgs <- peerwire.Message{ID: m.ID, Index: m.Index, Begin: m.Begin, Length: m.Length}
			}
		}
	}()
	t.Cleanup(func() { ln.Close(); <-done })
	return netip.MustParseAddrPort(ln.Addr().String()), msgs
}

func TestASeekJumpsAFullPipeline(t *testing.T) {
	defer leakcheck.Check(t)()
	f := newFixture(t, 64<<10, 16<<20) // 256 pieces of 4 blocks
	addr, msgs := startMutePeer(t, f)
	_, tor := leech(t, f, nil, addr)
	// A reader at the start fills the peer's pipeline with its window.
	r1 := tor.NewReader(0)
	defer r1.Close()
	ctx1, cancel1 := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel1()
	go r1.ReadAt(ctx1, make([]byte, 1000), 0)
	requested := 0
	for requested < 64 { // the default pipeline depth
		select {
		case m := <-msgs:
			if m.ID == peerwire.Request {
				requested++
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("the peer got %d requests, want a full pipeline", requested)
		}
	}
	<-ctx1.Done() // the first read gave up, as a player's does when it seeks
	time.Sleep(10 * time.Millisecond)
	// The same reader seeks far ahead, as a player does: the piece under it
	// must be asked for at once, ahead of the old readahead, which is
	// cancelled.
	const seekPiece = 200
	ctx2, cancel2 := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel2()
	go r1.ReadAt(ctx2, make([]byte, 1000), seekPiece*64<<10)
	cancels := 0
	deadline := time.After(5 * time.Second)
	for {
		select {
		case m := <-msgs:
			switch {
			case m.ID == peerwire.Cancel:
				cancels++
			case m.ID == peerwire.Request && m.Index == seekPiece:
				if cancels == 0 {
					t.Fatal("the seek's piece was requested behind the full pipeline, with nothing cancelled")
				}
				return
			}
		case <-deadline:
			t.Fatalf("the seek's piece was never requested (%d cancels seen)", cancels)
		}
	}
}
