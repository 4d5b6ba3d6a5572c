package fetcher_test

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/torrentfs/torrentfs/fetcher"
	"github.com/torrentfs/torrentfs/internal/leakcheck"
	"github.com/torrentfs/torrentfs/internal/testbytes"
	"github.com/torrentfs/torrentfs/metainfo"
)

// waitFor polls cond until it holds or the test's patience runs out.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestOpeningAMediaFileFetchesItsHeadAndTail(t *testing.T) {
	defer leakcheck.Check(t)()
	data := testbytes.Bytes(9, 40<<20)
	_, mi, err := metainfo.Create(metainfo.CreateOptions{Name: "movie.mkv", PieceLength: 1 << 20, SingleFile: true},
		[]metainfo.CreateFile{{Path: []string{"movie.mkv"}, Length: int64(len(data)), Data: bytes.NewReader(data)}})
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{mi: mi, files: [][]byte{data}, stream: data}
	_, seed := startSeeder(t, f)
	leech := newClient(t, nil, nil)
	tor, err := leech.AddTorrent(context.Background(), mi)
	if err != nil {
		t.Fatal(err)
	}
	tor.AddPeers(seed)
	r := tor.NewReader(0)
	defer r.Close()
	last := int64(len(data))
	// Nothing was read, yet the last 4 MiB become ready to read at once.
	waitFor(t, "the tail of the media file", func() bool { return r.Ready(last-4<<20, 4<<20) })
	if !r.Ready(0, 2<<20) {
		t.Fatal("the head of the media file was not fetched with its tail")
	}
	if r.Ready(20<<20, 1) {
		t.Fatal("the middle of the file was fetched though nobody read it")
	}
}

func TestMediaProbeCanBeTurnedOff(t *testing.T) {
	defer leakcheck.Check(t)()
	data := testbytes.Bytes(9, 8<<20)
	_, mi, err := metainfo.Create(metainfo.CreateOptions{Name: "movie.mp4", PieceLength: 1 << 20, SingleFile: true},
		[]metainfo.CreateFile{{Path: []string{"movie.mp4"}, Length: int64(len(data)), Data: bytes.NewReader(data)}})
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{mi: mi, files: [][]byte{data}, stream: data}
	_, seed := startSeeder(t, f)
	leech := newClient(t, nil, func(o *fetcher.Options) { o.NoMediaProbe = true })
	tor, err := leech.AddTorrent(context.Background(), mi)
	if err != nil {
		t.Fatal(err)
	}
	tor.AddPeers(seed)
	r := tor.NewReader(0)
	defer r.Close()
	time.Sleep(300 * time.Millisecond)
	if s := tor.Stats(); s.HavePieces != 0 {
		t.Fatalf("with the probe off, opening fetched %d pieces", s.HavePieces)
	}
}

func TestBackgroundFetchesEverythingWithoutReads(t *testing.T) {
	defer leakcheck.Check(t)()
	f := newFixture(t, 64<<10, 1<<20, 333333)
	_, seed := startSeeder(t, f)
	_, tor := leech(t, f, func(o *fetcher.Options) { o.Background = true }, seed)
	waitFor(t, "every piece", func() bool { s := tor.Stats(); return s.HavePieces == s.Pieces })
}

func TestWithoutBackgroundNothingIsFetchedUnread(t *testing.T) {
	defer leakcheck.Check(t)()
	f := newFixture(t, 64<<10, 1<<20)
	_, seed := startSeeder(t, f)
	_, tor := leech(t, f, nil, seed)
	waitFor(t, "the seeder to connect", func() bool { return tor.Stats().Peers == 1 })
	time.Sleep(300 * time.Millisecond)
	if s := tor.Stats(); s.HavePieces != 0 || s.Downloaded != 0 {
		t.Fatalf("with no reader, fetched %d pieces (%d bytes)", s.HavePieces, s.Downloaded)
	}
}
