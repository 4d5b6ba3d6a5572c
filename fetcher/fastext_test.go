package fetcher_test

import (
	"context"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/torrentfs/torrentfs/fetcher"
	"github.com/torrentfs/torrentfs/fetcher/peerwire"
	"github.com/torrentfs/torrentfs/internal/leakcheck"
)

// received returns the ids of the messages w got, blocks excepted.
func (w *watchPeer) received() []peerwire.MessageID {
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.Clone(w.ids)
}

// A seed opens with HaveAll to a peer with the fast extension and with a
// bitfield to one without; a client with nothing opens with HaveNone, and
// says nothing to a peer without the extension.
func TestFastOpeningMessages(t *testing.T) {
	defer leakcheck.Check(t)()
	f := chokeFixture(t)
	seeder, _ := startSeederTorrent(t, f, nil)
	empty := newClient(t, nil, nil)
	if _, err := empty.AddTorrent(context.Background(), f.mi); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name   string
		c      *fetcher.Client
		fast   bool
		opener peerwire.MessageID
	}{
		{"seed to fast peer", seeder, true, peerwire.HaveAll},
		{"seed to plain peer", seeder, false, peerwire.Bitfield},
		{"empty to fast peer", empty, true, peerwire.HaveNone},
	}
	for i, tc := range cases {
		w := dialWatch(t, tc.c.Addr(), f, 10+i, tc.fast, false)
		chokeWait(t, 2*time.Second, tc.name+": an opening message", func() bool { return len(w.received()) > 0 })
		if got := w.received()[0]; got != tc.opener {
			t.Errorf("%s: opened with %v, want %v", tc.name, got, tc.opener)
		}
	}
	// Nothing at all to a plain peer from an empty client: prove it by
	// asking for something and seeing only the reply to that.
	w := dialWatch(t, empty.Addr(), f, 20, false, false)
	if err := w.send(&peerwire.Message{ID: peerwire.Interested}); err != nil {
		t.Fatal(err)
	}
	chokeWait(t, 2*time.Second, "unchoked", func() bool { return !w.isChoked() })
	if got := w.received(); !slices.Equal(got, []peerwire.MessageID{peerwire.Unchoke}) {
		t.Errorf("an empty client told a plain peer %v, want only the unchoke", got)
	}
}

// Requests beyond the queue cap (256) are rejected at once, and every
// request gets an answer.
func TestRequestsBeyondQueueCapRejected(t *testing.T) {
	defer leakcheck.Check(t)()
	f := chokeFixture(t)
	// A slow upload keeps the queue full while the requests arrive.
	seeder, _ := startSeederTorrent(t, f, func(o *fetcher.Options) { o.UploadRateLimit = 16 << 10 })
	w := dialWatch(t, seeder.Addr(), f, 1, true, false)
	if err := w.send(&peerwire.Message{ID: peerwire.Interested}); err != nil {
		t.Fatal(err)
	}
	chokeWait(t, 2*time.Second, "unchoked", func() bool { return !w.isChoked() })
	pieces := notAllowedFast(f)
	const n = 300
	var out []byte
	for i := range n {
		out = peerwire.AppendMessage(out, &peerwire.Message{ID: peerwire.Request, Index: pieces[i%len(pieces)], Length: peerwire.BlockSize})
	}
	w.wmu.Lock()
	_, err := w.conn.Write(out)
	w.wmu.Unlock()
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(time.Second)
	_, _, _, served, rejects := w.state()
	t.Logf("after a second: %d served, %d rejected", served, rejects)
	// At 16 KiB/s a block or two leave the queue in that second.
	if rejects < n-256-3 || rejects > n-256 {
		t.Errorf("%d of %d requests rejected, want the %d past the cap of 256 (give or take the blocks served)", rejects, n, n-256)
	}
	// Choking the peer answers the rest at once.
	if err := w.send(&peerwire.Message{ID: peerwire.NotInterested}); err != nil {
		t.Fatal(err)
	}
	chokeWait(t, 2*time.Second, "every request answered", func() bool {
		_, _, _, served, rejects := w.state()
		return served+rejects == n
	})
}

// Allowed-fast pieces we acquire after a peer connected are announced to
// it then, within a review tick.
func TestAllowedFastAnnouncedWhenAcquired(t *testing.T) {
	defer leakcheck.Check(t)()
	f := chokeFixture(t)
	seeder, _ := startSeederTorrent(t, f, nil)
	lc := newClient(t, nil, func(o *fetcher.Options) { o.Background = true })
	lt, err := lc.AddTorrent(context.Background(), f.mi)
	if err != nil {
		t.Fatal(err)
	}
	w := dialWatch(t, lc.Addr(), f, 1, true, false)
	chokeWait(t, 2*time.Second, "HaveNone", func() bool { return len(w.received()) > 0 })
	w.mu.Lock()
	early := len(w.allowed)
	w.mu.Unlock()
	if early != 0 {
		t.Fatalf("a client with no pieces announced %d allowed-fast pieces", early)
	}
	lt.AddPeers(netip.MustParseAddrPort(seeder.Addr().String()))
	want := peerwire.AllowedFastSet(netip.MustParseAddr("127.0.0.1"), f.mi.InfoHash, f.mi.Info.NumPieces(), 10)
	chokeWait(t, 10*time.Second, "the whole allowed-fast set announced once the pieces arrived", func() bool {
		w.mu.Lock()
		defer w.mu.Unlock()
		return len(w.allowed) >= len(want)
	})
	w.mu.Lock()
	got := slices.Sorted(slices.Values(w.allowed))
	w.mu.Unlock()
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("announced %v, want each of %v once", got, want)
	}
}
