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

// startStaller starts a peer that claims every piece, unchokes, and never
// sends a block. It counts the requests it got.
func startStaller(t *testing.T, f *fixture) (*atomic.Int64, netip.AddrPort) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var reqs atomic.Int64
	var wg sync.WaitGroup
	var mu sync.Mutex // guards open
	open := map[net.Conn]bool{}
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			open[c] = true
			mu.Unlock()
			wg.Go(func() {
				defer c.Close()
				br := bufio.NewReader(c)
				hs, err := peerwire.ReadHandshake(br)
				if err != nil {
					return
				}
				ours := peerwire.Handshake{InfoHash: hs.InfoHash}
				copy(ours.PeerID[:], "-ST0001-stallstallst")
				if peerwire.WriteHandshake(c, ours) != nil {
					return
				}
				n := f.mi.Info.NumPieces()
				all := peerwire.NewBitfield(n)
				all.SetAll(n)
				out := peerwire.AppendMessage(nil, &peerwire.Message{ID: peerwire.Bitfield, Bitfield: all})
				out = peerwire.AppendMessage(out, &peerwire.Message{ID: peerwire.Unchoke})
				if _, err := c.Write(out); err != nil {
					return
				}
				dec := peerwire.NewDecoder(br, 1<<20)
				var m peerwire.Message
				for dec.Decode(&m) == nil {
					if m.ID == peerwire.Request {
						reqs.Add(1)
					}
				}
			})
		}
	})
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for c := range open {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	return &reqs, netip.MustParseAddrPort(ln.Addr().String())
}

// A reader blocked on blocks a peer never sends is served by the web seed
// long before the peer would be declared snubbing (15 s).
func TestWebseedHelpsWithBlocksLateFromAPeer(t *testing.T) {
	defer leakcheck.Check(t)()
	f := newFixture(t, 32<<10, 600_000)
	stalled, addr := startStaller(t, f)
	ws := startWebServer(t, f.mi, f.stream)
	tor := webLeecher(t, f, ws, ws.base(), nil)
	tor.AddPeers(addr)
	// Let the staller connect and take requests before anything is read.
	deadline := time.Now().Add(5 * time.Second)
	for tor.Stats().Peers == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the staller never connected")
		}
		time.Sleep(5 * time.Millisecond)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	r := tor.NewReader(0)
	defer r.Close()
	start := time.Now()
	got, err := readAll(ctx, r, 64<<10)
	if err != nil || !bytes.Equal(got, f.files[0]) {
		t.Fatalf("err %v after %v, equal %v", err, time.Since(start), bytes.Equal(got, f.files[0]))
	}
	if stalled.Load() == 0 {
		t.Fatal("the staller was never asked for a block: the test proves nothing")
	}
	t.Logf("read in %v; the staller got %d requests", time.Since(start), stalled.Load())
}
