package fetcher_test

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/torrentfs/torrentfs/fetcher"
	"github.com/torrentfs/torrentfs/fetcher/dht"
	"github.com/torrentfs/torrentfs/internal/leakcheck"
	"github.com/torrentfs/torrentfs/internal/testbytes"
	"github.com/torrentfs/torrentfs/metainfo"
	"github.com/torrentfs/torrentfs/piececache"
)

var _ fetcher.PeerFinder = (*dht.Server)(nil)

// dhtNodes starts n DHT nodes on loopback, the first a router the others
// bootstrap from, and closes them at the end of the test (after the
// clients that use them, which are closed by cleanups registered later).
func dhtNodes(t *testing.T, n int) []*dht.Server {
	t.Helper()
	var ss []*dht.Server
	for range n {
		s, err := dht.Listen("127.0.0.1:0", dht.Options{Logger: testLogger(t), QueryTimeout: 500 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		ss = append(ss, s)
	}
	for _, s := range ss[1:] {
		if err := s.Bootstrap(context.Background(), []string{ss[0].Addr().String()}); err != nil {
			t.Fatal(err)
		}
	}
	return ss
}

// waitFindable waits until node s finds a peer of ih on the DHT.
func waitFindable(t *testing.T, s *dht.Server, ih [20]byte) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if peers, _ := s.GetPeers(context.Background(), ih); len(peers) > 0 {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("%x not announced on the DHT after 10 s", ih)
}

// TestDHTFindsTheSeeder: with no tracker and no peer given, a leecher
// finds the seeder on the DHT and reads the files.
func TestDHTFindsTheSeeder(t *testing.T) {
	defer leakcheck.Check(t)()
	nodes := dhtNodes(t, 4)
	f := newFixture(t, 32<<10, 100_000, 3_000)
	dhtSeeder(t, f, nodes[1])
	waitFindable(t, nodes[3], f.mi.InfoHash)

	_, tor := leech(t, f, func(o *fetcher.Options) { o.DHT = nodes[2] })
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for i, want := range f.files {
		got, err := readAll(ctx, tor.NewReader(i), 16<<10)
		if err != nil {
			t.Fatalf("file %d: %v", i, err)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("file %d: wrong bytes", i)
		}
	}
}

// dhtSeeder starts a client that holds every piece of f and announces it
// through node.
func dhtSeeder(t *testing.T, f *fixture, node *dht.Server) {
	t.Helper()
	store := piececache.NewMemory()
	f.fill(t, store)
	c := newClient(t, store, func(o *fetcher.Options) { o.DHT = node })
	if _, err := c.AddTorrent(context.Background(), f.mi); err != nil {
		t.Fatal(err)
	}
}

// TestDHTResolvesATrackerlessMagnet: a magnet with nothing but the info
// hash resolves through the DHT.
func TestDHTResolvesATrackerlessMagnet(t *testing.T) {
	defer leakcheck.Check(t)()
	nodes := dhtNodes(t, 3)
	f := newFixture(t, 16<<10, 40_000)
	dhtSeeder(t, f, nodes[1])
	waitFindable(t, nodes[2], f.mi.InfoHash)

	c := newClient(t, nil, func(o *fetcher.Options) { o.DHT = nodes[2] })
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	mi, err := c.ResolveMagnet(ctx, &metainfo.Magnet{InfoHash: f.mi.InfoHash}, nil)
	if err != nil {
		t.Fatal(err)
	}
	checkResolved(t, mi, f)
}

// TestDHTSkipsPrivateTorrents: a private torrent (BEP 27) is never
// announced on the DHT, while a public one of the same client is.
func TestDHTSkipsPrivateTorrents(t *testing.T) {
	defer leakcheck.Check(t)()
	nodes := dhtNodes(t, 3)
	public := newFixture(t, 16<<10, 20_000)
	_, private, err := metainfo.Create(metainfo.CreateOptions{Name: "secret", PieceLength: 16 << 10, Private: true, SingleFile: true},
		[]metainfo.CreateFile{{Length: 20_000, Data: bytes.NewReader(testbytes.Bytes(5, 20_000))}})
	if err != nil {
		t.Fatal(err)
	}
	c := newClient(t, nil, func(o *fetcher.Options) { o.DHT = nodes[1] })
	if _, err := c.AddTorrent(context.Background(), private); err != nil {
		t.Fatal(err)
	}
	if _, err := c.AddTorrent(context.Background(), public.mi); err != nil {
		t.Fatal(err)
	}
	waitFindable(t, nodes[2], public.mi.InfoHash) // the client's DHT loops ran
	if peers, _ := nodes[2].GetPeers(context.Background(), private.InfoHash); len(peers) != 0 {
		t.Errorf("the private torrent was announced on the DHT: %v", peers)
	}
}
