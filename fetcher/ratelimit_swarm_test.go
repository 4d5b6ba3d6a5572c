package fetcher_test

import (
	"context"
	"net/netip"
	"testing"
	"time"

	"github.com/torrentfs/torrentfs/fetcher"
	"github.com/torrentfs/torrentfs/fetcher/peerwire"
	"github.com/torrentfs/torrentfs/internal/leakcheck"
)

// A seeder limited to 2 MB/s uploads at that rate, within 15%, to two
// leechers together: the limit is shared by all peers.
func TestUploadRateLimitHolds(t *testing.T) {
	defer leakcheck.Check(t)()
	const limit = 2_000_000
	f := newFixture(t, 256<<10, 10<<20, 5<<20+12345)
	seeder, tor := startSeederTorrent(t, f, func(o *fetcher.Options) { o.UploadRateLimit = limit })
	for range 2 {
		lc := newClient(t, nil, func(o *fetcher.Options) { o.Background = true })
		lt, err := lc.AddTorrent(context.Background(), f.mi)
		if err != nil {
			t.Fatal(err)
		}
		lt.AddPeers(netip.MustParseAddrPort(seeder.Addr().String()))
	}
	// Skip the first burst, then measure over three seconds.
	chokeWait(t, 5*time.Second, "uploads started", func() bool { return tor.Stats().Uploaded > 0 })
	time.Sleep(500 * time.Millisecond)
	u0, t0 := tor.Stats().Uploaded, time.Now()
	time.Sleep(3 * time.Second)
	u1, t1 := tor.Stats().Uploaded, time.Now()
	got := float64(u1-u0) / t1.Sub(t0).Seconds()
	t.Logf("uploaded %.0f bytes/s with a limit of %d", got, limit)
	if got < 0.85*limit || got > 1.15*limit {
		t.Errorf("uploaded %.0f bytes/s, want %d ±15%%", got, limit)
	}
	if total := int64(len(f.stream)); u1 >= 2*total {
		t.Fatalf("the leechers finished during the measurement: make the torrent larger")
	}
}

// Blocks waiting for upload bandwidth never hold back control messages: a
// peer whose requests would take 20 s at the limit is choked, and its
// queued requests rejected, at once.
func TestRateLimitDoesNotDelayControlMessages(t *testing.T) {
	defer leakcheck.Check(t)()
	f := chokeFixture(t)
	seeder, _ := startSeederTorrent(t, f, func(o *fetcher.Options) { o.UploadRateLimit = 32 << 10 })
	w := dialWatch(t, seeder.Addr(), f, 1, true, false)
	if err := w.send(&peerwire.Message{ID: peerwire.Interested}); err != nil {
		t.Fatal(err)
	}
	chokeWait(t, 2*time.Second, "unchoked", func() bool { return !w.isChoked() })
	// Pieces outside the allowed-fast set: a choke takes all of them back.
	const n = 40
	for _, i := range notAllowedFast(f)[:n] {
		if err := w.request(i, 0, peerwire.BlockSize); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(300 * time.Millisecond)
	start := time.Now()
	if err := w.send(&peerwire.Message{ID: peerwire.NotInterested}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(time.Second)
	for {
		choked, _, _, pieces, rejects := w.state()
		if choked && pieces+rejects == n {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("a second after losing interest: choked=%v, %d blocks served and %d rejected of %d", choked, pieces, rejects, n)
		}
		time.Sleep(10 * time.Millisecond)
	}
	_, _, _, pieces, rejects := w.state()
	t.Logf("choked with %d blocks served and %d rejected after %v", pieces, rejects, time.Since(start))
	if pieces > 4 {
		t.Errorf("%d blocks served in about 300 ms at 32 KiB/s", pieces)
	}
}
