package fetcher_test

import (
	"bytes"
	"context"
	"log/slog"
	"net"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/torrentfs/torrentfs/fetcher"
	"github.com/torrentfs/torrentfs/internal/leakcheck"
	"github.com/torrentfs/torrentfs/internal/testbytes"
	"github.com/torrentfs/torrentfs/internal/testswarm"
	"github.com/torrentfs/torrentfs/metainfo"
	"github.com/torrentfs/torrentfs/piececache"
)

func TestASilentTrackerInTheFirstTierDoesNotDelayTheNext(t *testing.T) {
	defer leakcheck.Check(t)()
	// A UDP tracker that takes datagrams and never answers: BEP 15 retries
	// would keep an announce to it busy for as long as it is allowed.
	silent, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	tr := testswarm.NewTracker(slog.New(slog.DiscardHandler))
	if err := tr.Start(context.Background(), "127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	data := testbytes.Bytes(5, 300000)
	_, mi, err := metainfo.Create(metainfo.CreateOptions{
		Name: "tiers", PieceLength: 32 << 10, SingleFile: true,
		AnnounceList: [][]string{{"udp://" + silent.LocalAddr().String()}, {tr.URL()}},
	}, []metainfo.CreateFile{{Path: []string{"tiers"}, Length: int64(len(data)), Data: bytes.NewReader(data)}})
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{mi: mi, files: [][]byte{data}, stream: data}
	withTrackers := func(o *fetcher.Options) { o.DisableTrackers = false }
	seedStore := piececache.NewMemory()
	f.fill(t, seedStore)
	seeder := newClient(t, seedStore, withTrackers)
	if _, err := seeder.AddTorrent(context.Background(), mi); err != nil {
		t.Fatal(err)
	}
	// The swarm exists before we join it: the tracker lists the seeder.
	seedAddr := netip.MustParseAddrPort(seeder.Addr().String())
	waitFor(t, "the seeder's announce", func() bool { return slices.Contains(tr.Peers(mi.InfoHash), seedAddr) })
	_, tor := leech(t, f, withTrackers)
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	start := time.Now()
	r := tor.NewReader(0)
	defer r.Close()
	got, err := readAll(ctx, r, 64<<10)
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("after %s: err %v, bytes equal %v", time.Since(start), err, bytes.Equal(got, data))
	}
	if el := time.Since(start); el > 5*time.Second {
		t.Fatalf("the read took %s: the second tier waited for the silent first one", el)
	}
}
