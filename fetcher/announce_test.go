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
	c := newClient(t, nil, func(o *fetcher.Options) {
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
