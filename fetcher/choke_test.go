package fetcher_test

import (
	"bytes"
	"context"
	"fmt"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/torrentfs/torrentfs/fetcher"
	"github.com/torrentfs/torrentfs/fetcher/peerwire"
	"github.com/torrentfs/torrentfs/internal/leakcheck"
)

// chokeFixture is 64 pieces of 16 KiB: one block per piece, and enough
// pieces for an allowed-fast set.
func chokeFixture(t *testing.T) *fixture {
	return newFixture(t, 16<<10, 40000, 600000, 400000)
}

// With six interested leechers and four slots, at most 4+1 are unchoked
// at any moment, the first five at once, and the unchoke rotates so that
// every leecher gets served.
func TestChokingUnchokesFourPlusOneAndRotates(t *testing.T) {
	defer leakcheck.Check(t)()
	f := chokeFixture(t)
	seeder, tor := startSeederTorrent(t, f, nil)
	fetcher.SetChokeIntervals(tor, time.Second, 2*time.Second)

	var peers []*watchPeer
	for i := range 6 {
		w := dialWatch(t, seeder.Addr(), f, i, true, true)
		if err := w.send(&peerwire.Message{ID: peerwire.Interested}); err != nil {
			t.Fatal(err)
		}
		peers = append(peers, w)
		if i < 5 {
			// A free slot (or the free optimistic unchoke) is given at once.
			chokeWait(t, 2*time.Second, fmt.Sprintf("peer %d unchoked while slots are free", i), func() bool { return !w.isChoked() })
		}
	}
	deadline := time.Now().Add(8 * time.Second)
	everyone := false
	for time.Now().Before(deadline) {
		total, slots, opt := fetcher.Unchoked(tor)
		if total > 5 || slots > 4 || opt > 1 {
			t.Fatalf("%d peers unchoked (%d in slots, %d optimistic), want at most 4+1", total, slots, opt)
		}
		everyone = true
		for _, w := range peers {
			if _, unchokes, _, pieces, _ := w.state(); unchokes == 0 || pieces == 0 {
				everyone = false
			}
		}
		if everyone && time.Until(deadline) < 4*time.Second {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	rotated := 0
	for _, w := range peers {
		choked, unchokes, chokes, pieces, rejects := w.state()
		t.Logf("%s: choked=%v unchokes=%d chokes=%d blocks=%d rejects=%d", w.name, choked, unchokes, chokes, pieces, rejects)
		if unchokes == 0 || pieces == 0 {
			t.Errorf("%s was never unchoked and served in 8 s: the optimistic unchoke does not rotate", w.name)
		}
		if chokes > 0 {
			rotated++
		}
	}
	if rotated == 0 {
		t.Errorf("nobody was ever choked again: no rotation")
	}
	// Every block a peer received is the right one.
	for _, w := range peers {
		w.mu.Lock()
		for k, b := range w.blocks {
			if want := f.piece(int(k[0]))[k[1]:][:len(b)]; !bytes.Equal(b, want) {
				t.Errorf("%s: block %v has wrong bytes", w.name, k)
			}
		}
		w.mu.Unlock()
	}
}

// A slot freed between reviews (its peer lost interest or left) goes at
// once to a waiting peer, well before the 10 s review.
func TestFreedSlotIsFilledAtOnce(t *testing.T) {
	defer leakcheck.Check(t)()
	f := chokeFixture(t)
	seeder, tor := startSeederTorrent(t, f, nil) // default 10 s / 30 s periods
	var peers []*watchPeer
	for i := range 7 {
		w := dialWatch(t, seeder.Addr(), f, i, i%2 == 0, false)
		if err := w.send(&peerwire.Message{ID: peerwire.Interested}); err != nil {
			t.Fatal(err)
		}
		peers = append(peers, w)
	}
	chokeWait(t, 2*time.Second, "five peers unchoked", func() bool {
		total, _, _ := fetcher.Unchoked(tor)
		told := 0
		for _, w := range peers {
			if !w.isChoked() {
				told++
			}
		}
		return total == 5 && told == 5
	})
	var waiting, holding []*watchPeer
	for _, w := range peers {
		if w.isChoked() {
			waiting = append(waiting, w)
		} else {
			holding = append(holding, w)
		}
	}
	if len(waiting) != 2 || len(holding) != 5 {
		t.Fatalf("%d peers wait and %d are unchoked, want 2 and 5", len(waiting), len(holding))
	}
	time.Sleep(300 * time.Millisecond)
	if !waiting[0].isChoked() || !waiting[1].isChoked() {
		t.Fatal("a sixth peer was unchoked although every slot is taken")
	}

	// One holder loses interest: it is choked and a waiting peer takes its place.
	start := time.Now()
	if err := holding[0].send(&peerwire.Message{ID: peerwire.NotInterested}); err != nil {
		t.Fatal(err)
	}
	chokeWait(t, 2*time.Second, "a waiting peer unchoked after a holder lost interest", func() bool {
		return !waiting[0].isChoked() || !waiting[1].isChoked()
	})
	chokeWait(t, 2*time.Second, "the uninterested peer choked", holding[0].isChoked)
	t.Logf("slot refilled after lost interest in %v", time.Since(start))

	// Another holder disconnects: the last waiting peer takes its place.
	start = time.Now()
	holding[1].conn.Close()
	chokeWait(t, 2*time.Second, "the last waiting peer unchoked after a holder left", func() bool {
		return !waiting[0].isChoked() && !waiting[1].isChoked()
	})
	t.Logf("slot refilled after a disconnect in %v", time.Since(start))
	if total, _, _ := fetcher.Unchoked(tor); total != 5 {
		t.Errorf("%d peers unchoked, want 5", total)
	}
}

// When we choke a peer, the requests it has queued with us are answered:
// with the fast extension each gets a Reject unless it is served; without
// it they are dropped, as BEP 3 says a choke discards them.
func TestChokeRejectsQueuedRequests(t *testing.T) {
	for _, fast := range []bool{true, false} {
		t.Run(fmt.Sprintf("fast=%v", fast), func(t *testing.T) {
			defer leakcheck.Check(t)()
			f := chokeFixture(t)
			// A slow upload keeps requests queued behind the first batch.
			seeder, _ := startSeederTorrent(t, f, func(o *fetcher.Options) { o.UploadRateLimit = 256 << 10 })
			w := dialWatch(t, seeder.Addr(), f, 1, fast, false)
			if err := w.send(&peerwire.Message{ID: peerwire.Interested}); err != nil {
				t.Fatal(err)
			}
			chokeWait(t, 2*time.Second, "unchoked", func() bool { return !w.isChoked() })
			const n = 40
			for _, i := range notAllowedFast(f)[:n] {
				if err := w.request(i, 0, peerwire.BlockSize); err != nil {
					t.Fatal(err)
				}
			}
			time.Sleep(100 * time.Millisecond)
			if err := w.send(&peerwire.Message{ID: peerwire.NotInterested}); err != nil {
				t.Fatal(err)
			}
			chokeWait(t, 2*time.Second, "choked after losing interest", w.isChoked)
			if fast {
				chokeWait(t, 10*time.Second, "every request served or rejected", func() bool {
					_, _, _, pieces, rejects := w.state()
					return pieces+rejects == n
				})
			} else {
				time.Sleep(2 * time.Second) // let the batch in flight arrive
			}
			_, _, _, pieces, rejects := w.state()
			t.Logf("served %d blocks, rejected %d", pieces, rejects)
			if pieces == 0 || pieces >= n {
				t.Errorf("%d of %d blocks served; want the batch in flight and not the rest", pieces, n)
			}
			if fast && rejects == 0 {
				t.Error("no request was rejected after the choke")
			}
			if !fast && rejects != 0 {
				t.Errorf("%d rejects sent to a peer without the fast extension", rejects)
			}
		})
	}
}

// A peer with the fast extension gets an allowed-fast set (BEP 6) of ten
// pieces we have, derived from its address, and may fetch those pieces
// while we choke it; any other request is rejected.
func TestAllowedFastServedWhileChoked(t *testing.T) {
	defer leakcheck.Check(t)()
	f := chokeFixture(t)
	seeder, _ := startSeederTorrent(t, f, nil)
	w := dialWatch(t, seeder.Addr(), f, 1, true, false) // never interested: always choked
	want := peerwire.AllowedFastSet(netip.MustParseAddr("127.0.0.1"), f.mi.InfoHash, f.mi.Info.NumPieces(), 10)
	chokeWait(t, 2*time.Second, "ten allowed-fast pieces announced", func() bool {
		w.mu.Lock()
		defer w.mu.Unlock()
		return len(w.allowed) >= 10
	})
	w.mu.Lock()
	got := slices.Clone(w.allowed)
	w.mu.Unlock()
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Fatalf("allowed-fast set %v, want %v", got, want)
	}
	var other uint32
	for slices.Contains(want, other) {
		other++
	}
	for _, i := range want {
		if err := w.request(i, 0, uint32(f.mi.Info.PieceSize(int(i)))); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.request(other, 0, peerwire.BlockSize); err != nil {
		t.Fatal(err)
	}
	chokeWait(t, 5*time.Second, "allowed-fast pieces served and the other rejected", func() bool {
		_, _, _, pieces, rejects := w.state()
		return pieces == len(want) && rejects == 1
	})
	if !w.isChoked() {
		t.Fatal("the peer was unchoked though it never said it was interested")
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, i := range want {
		if b := w.blocks[[2]uint32{i, 0}]; !bytes.Equal(b, f.piece(int(i))) {
			t.Errorf("allowed-fast piece %d: wrong bytes", i)
		}
	}
}

// A peer without the fast extension gets no allowed-fast set, and a
// torrent too small for the set to be a minority of its pieces gives none.
func TestNoAllowedFastSet(t *testing.T) {
	defer leakcheck.Check(t)()
	check := func(f *fixture, fast bool) {
		seeder, _ := startSeederTorrent(t, f, nil)
		w := dialWatch(t, seeder.Addr(), f, 1, fast, false)
		// The seeder's opening messages come in one burst; a request
		// answered after them proves they are all read.
		if err := w.send(&peerwire.Message{ID: peerwire.Interested}); err != nil {
			t.Fatal(err)
		}
		chokeWait(t, 2*time.Second, "unchoked", func() bool { return !w.isChoked() })
		w.mu.Lock()
		defer w.mu.Unlock()
		if len(w.allowed) != 0 {
			t.Errorf("fast=%v, %d pieces: got allowed-fast pieces %v", fast, f.mi.Info.NumPieces(), w.allowed)
		}
	}
	check(chokeFixture(t), false)
	check(newFixture(t, 16<<10, 300000), true) // 19 pieces
}

// notAllowedFast lists f's full-size pieces outside the allowed-fast set
// of a peer on 127.0.0.1.
func notAllowedFast(f *fixture) []uint32 {
	set := peerwire.AllowedFastSet(netip.MustParseAddr("127.0.0.1"), f.mi.InfoHash, f.mi.Info.NumPieces(), 10)
	var out []uint32
	for i := range f.mi.Info.NumPieces() {
		if !slices.Contains(set, uint32(i)) && f.mi.Info.PieceSize(i) >= peerwire.BlockSize {
			out = append(out, uint32(i))
		}
	}
	return out
}

// Seven leechers reading the whole torrent from one seed at once, more
// than its 4+1 unchokes: each one that finishes loses interest and frees
// its slot, so all of them complete with the right bytes, and at no time
// are more than five unchoked.
func TestSevenLeechersAllComplete(t *testing.T) {
	defer leakcheck.Check(t)()
	f := newFixture(t, 64<<10, 700000, 1<<20+777)
	seeder, tor := startSeederTorrent(t, f, nil)
	addr := netip.MustParseAddrPort(seeder.Addr().String())
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	errs := make(chan error, 7)
	for range 7 {
		_, lt := leech(t, f, nil, addr)
		go func() {
			for i := range f.files {
				r := lt.NewReader(i)
				got, err := readAll(ctx, r, 100000)
				r.Close()
				if err != nil {
					errs <- err
					return
				}
				if !bytes.Equal(got, f.files[i]) {
					errs <- fmt.Errorf("file %d: %d bytes differ from the source", i, len(got))
					return
				}
			}
			errs <- nil
		}()
	}
	for done := 0; done < 7; {
		select {
		case err := <-errs:
			if err != nil {
				t.Fatal(err)
			}
			done++
		case <-time.After(10 * time.Millisecond):
			if total, _, _ := fetcher.Unchoked(tor); total > 5 {
				t.Fatalf("%d leechers unchoked at once", total)
			}
		}
	}
}
