package fetcher_test

import (
	"bytes"
	"context"
	"log/slog"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/torrentfs/torrentfs/fetcher"
	"github.com/torrentfs/torrentfs/fetcher/tracker"
	"github.com/torrentfs/torrentfs/internal/leakcheck"
	"github.com/torrentfs/torrentfs/internal/testbytes"
	"github.com/torrentfs/torrentfs/internal/testswarm"
	"github.com/torrentfs/torrentfs/metainfo"
	"github.com/torrentfs/torrentfs/piececache"
)

func TestReannouncesAtTheIntervalAndSaysStoppedOnClose(t *testing.T) {
	defer leakcheck.Check(t)()
	tr := testswarm.NewTrackerOptions(slog.New(slog.DiscardHandler), testswarm.Options{Interval: tracker.MinAllowedInterval})
	if err := tr.Start(context.Background(), "127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	data := testbytes.Bytes(6, 50000)
	_, mi, err := metainfo.Create(metainfo.CreateOptions{Name: "ann", PieceLength: 16 << 10, SingleFile: true, Announce: tr.URL()},
		[]metainfo.CreateFile{{Path: []string{"ann"}, Length: int64(len(data)), Data: bytes.NewReader(data)}})
	if err != nil {
		t.Fatal(err)
	}
	// A complete seed: the tracker's interval applies (a torrent with no
	// peers and pieces missing would ask sooner).
	store := piececache.NewMemory()
	(&fixture{mi: mi, files: [][]byte{data}, stream: data}).fill(t, store)
	c := newClient(t, store, func(o *fetcher.Options) {
		o.DisableTrackers = false
		fetcher.WithAnnounceFloor(100 * time.Millisecond)(o)
	})
	if _, err := c.AddTorrent(context.Background(), mi); err != nil {
		t.Fatal(err)
	}
	us := netip.MustParseAddrPort(c.Addr().String())
	listed := func() bool { return slices.Contains(tr.Peers(mi.InfoHash), us) }
	waitFor(t, "the first announce", listed)
	first := tr.Announces()
	// The tracker asks for the shortest interval the tracker client allows
	// (5 s); the torrent must come back by itself.
	waitFor(t, "a re-announce at the tracker's interval", func() bool { return tr.Announces() > first })
	c.Close()
	if listed() {
		t.Fatal("still listed by the tracker after Close: no stopped announce")
	}
}

func TestWithNoPeersTheTorrentAsksAgainSoon(t *testing.T) {
	defer leakcheck.Check(t)()
	// The tracker asks for 30 s between announces.
	tr := testswarm.NewTrackerOptions(slog.New(slog.DiscardHandler), testswarm.Options{Interval: 30 * time.Second})
	if err := tr.Start(context.Background(), "127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	data := testbytes.Bytes(7, 100000)
	_, mi, err := metainfo.Create(metainfo.CreateOptions{Name: "late", PieceLength: 16 << 10, SingleFile: true, Announce: tr.URL()},
		[]metainfo.CreateFile{{Path: []string{"late"}, Length: int64(len(data)), Data: bytes.NewReader(data)}})
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{mi: mi, files: [][]byte{data}, stream: data}
	trackers := func(o *fetcher.Options) {
		o.DisableTrackers = false
		fetcher.WithAnnounceFloor(100 * time.Millisecond)(o)
	}
	// The leecher announces first and learns of nobody.
	leecher, tor := leech(t, f, trackers)
	us := netip.MustParseAddrPort(leecher.Addr().String())
	waitFor(t, "the leecher's first announce", func() bool { return slices.Contains(tr.Peers(mi.InfoHash), us) })
	// Then the seeder arrives. A seed waits for leechers to come to it.
	store := piececache.NewMemory()
	f.fill(t, store)
	seeder := newClient(t, store, trackers)
	if _, err := seeder.AddTorrent(context.Background(), mi); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	r := tor.NewReader(0)
	defer r.Close()
	start := time.Now()
	got, err := readAll(ctx, r, 32<<10)
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("after %s: err %v, bytes equal %v (the leecher waited for the tracker's 30 s interval)", time.Since(start), err, bytes.Equal(got, data))
	}
}
