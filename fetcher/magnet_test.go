package fetcher_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"reflect"
	"testing"
	"time"

	"github.com/torrentfs/torrentfs/fetcher"
	"github.com/torrentfs/torrentfs/internal/leakcheck"
	"github.com/torrentfs/torrentfs/internal/testswarm"
	"github.com/torrentfs/torrentfs/metainfo"
	"github.com/torrentfs/torrentfs/piececache"
)

// bigInfoFixture is a torrent whose info dictionary spans three BEP 9
// pieces (the last one short): many small files.
func bigInfoFixture(t *testing.T) *fixture {
	sizes := make([]int, 1100)
	for i := range sizes {
		sizes[i] = 50 + i
	}
	f := newFixture(t, 16<<10, sizes...)
	if n := len(f.mi.InfoBytes); n <= 2*16384 || n%16384 == 0 {
		t.Fatalf("fixture info dictionary has %d bytes, want more than two pieces and a short last one", n)
	}
	return f
}

func magnetFor(f *fixture, peers ...netip.AddrPort) *metainfo.Magnet {
	m := &metainfo.Magnet{InfoHash: f.mi.InfoHash, DisplayName: "fixture"}
	for _, p := range peers {
		m.Peers = append(m.Peers, p.String())
	}
	return m
}

// checkResolved compares a resolved MetaInfo with the original torrent.
func checkResolved(t *testing.T, got *metainfo.MetaInfo, f *fixture) {
	t.Helper()
	if got.InfoHash != f.mi.InfoHash {
		t.Fatalf("info hash %s, want %s", got.InfoHash, f.mi.InfoHash)
	}
	if !bytes.Equal(got.InfoBytes, f.mi.InfoBytes) {
		t.Fatalf("info bytes differ (%d bytes, want %d)", len(got.InfoBytes), len(f.mi.InfoBytes))
	}
	if !reflect.DeepEqual(got.Info, f.mi.Info) {
		t.Fatalf("info %+v, want %+v", got.Info, f.mi.Info)
	}
}

func TestResolveMagnetFromSeeder(t *testing.T) {
	defer leakcheck.Check(t)()
	f := bigInfoFixture(t)
	_, seederAddr := startSeeder(t, f)
	c := newClient(t, nil, nil)
	m := magnetFor(f, seederAddr)
	m.Trackers = []string{"http://tracker.invalid/announce", "udp://tracker2.invalid:80"} // trackers are off in this client
	m.WebSeeds = []string{"http://seed.invalid/files/"}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var last fetcher.MagnetProgress
	calls := 0
	mi, err := c.ResolveMagnet(ctx, m, func(p fetcher.MagnetProgress) { last = p; calls++ })
	if err != nil {
		t.Fatal(err)
	}
	checkResolved(t, mi, f)
	wantTiers := [][]string{{"http://tracker.invalid/announce"}, {"udp://tracker2.invalid:80"}}
	if !reflect.DeepEqual(mi.AnnounceList, wantTiers) || mi.Announce != wantTiers[0][0] {
		t.Errorf("announce %q, list %q; want %q", mi.Announce, mi.AnnounceList, wantTiers)
	}
	if !reflect.DeepEqual(mi.URLList, m.WebSeeds) {
		t.Errorf("URLList %q, want %q", mi.URLList, m.WebSeeds)
	}
	if calls < 1 || last.PeersFound != 1 || last.PeersTried != 1 || last.PeersWithMeta != 1 ||
		last.MetadataSize != int64(len(f.mi.InfoBytes)) || last.MetadataBytes != last.MetadataSize {
		t.Errorf("after %d progress calls the last was %+v", calls, last)
	}

	// The resolved torrent downloads like one read from a file.
	tor, err := c.AddTorrent(ctx, mi)
	if err != nil {
		t.Fatal(err)
	}
	tor.AddPeers(seederAddr)
	for _, i := range []int{0, 1099} {
		r := tor.NewReader(i)
		got, err := readAll(ctx, r, 4096)
		r.Close()
		if err != nil || !bytes.Equal(got, f.files[i]) {
			t.Fatalf("file %d: %d bytes (%v), want %d", i, len(got), err, len(f.files[i]))
		}
	}
}

func TestResolveMagnetThroughTracker(t *testing.T) {
	defer leakcheck.Check(t)()
	f := newFixture(t, 32<<10, 100000)
	_, seederAddr := startSeeder(t, f)
	tr := testswarm.NewTracker(testLogger(t))
	if err := tr.Start(context.Background(), "127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tr.Close() })
	tr.AddPeer(f.mi.InfoHash, seederAddr)
	c := newClient(t, nil, func(o *fetcher.Options) { o.DisableTrackers = false })
	m := magnetFor(f)
	m.Trackers = []string{tr.URL()}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	mi, err := c.ResolveMagnet(ctx, m, nil)
	if err != nil {
		t.Fatal(err)
	}
	checkResolved(t, mi, f)
	// We announced ourselves, with our listening port, as a leecher.
	self := netip.MustParseAddrPort(c.Addr().String())
	found := false
	for _, p := range tr.Peers(f.mi.InfoHash) {
		found = found || p.Port() == self.Port()
	}
	if !found {
		t.Errorf("tracker lists %v, not our port %d", tr.Peers(f.mi.InfoHash), self.Port())
	}
}

func TestResolveMagnetRejectsLyingPeer(t *testing.T) {
	defer leakcheck.Check(t)()
	f := bigInfoFixture(t)
	other := newFixture(t, 16<<10, 12345) // another, valid, info dictionary
	liar, liarAddr := startFakeMetaPeer(t, f.mi.InfoHash, other.mi.InfoBytes, int64(len(other.mi.InfoBytes)))
	_, seederAddr := startSeeder(t, f)
	// The honest seeder answers only once the liar is done with.
	open := make(chan struct{})
	honest := gatedProxy(t, seederAddr, open)
	go func() {
		select {
		case <-liar.ended:
		case <-time.After(10 * time.Second):
		}
		close(open)
	}()
	c := newClient(t, nil, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var last fetcher.MagnetProgress
	mi, err := c.ResolveMagnet(ctx, magnetFor(f, liarAddr, honest), func(p fetcher.MagnetProgress) { last = p })
	if err != nil {
		t.Fatal(err)
	}
	checkResolved(t, mi, f)
	if len(liar.served) != 1 || last.Rejected != 1 || last.PeersWithMeta != 2 {
		t.Errorf("progress %+v: want the liar rejected and two peers offering metadata", last)
	}
}

// resolveFails resolves a magnet that cannot succeed within d and
// returns the error, which must be a *MagnetError wrapping the deadline.
func resolveFails(t *testing.T, c *fetcher.Client, m *metainfo.Magnet, d time.Duration) *fetcher.MagnetError {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	start := time.Now()
	mi, err := c.ResolveMagnet(ctx, m, nil)
	if err == nil {
		t.Fatalf("resolved %v, want an error", mi.InfoHash)
	}
	if el := time.Since(start); el > d+2*time.Second {
		t.Errorf("returned %v after the deadline", el-d)
	}
	var me *fetcher.MagnetError
	if !errors.As(err, &me) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("error %v (%T), want a *MagnetError wrapping context.DeadlineExceeded", err, err)
	}
	t.Logf("error: %v", err)
	return me
}

func TestResolveMagnetAbsurdMetadataSize(t *testing.T) {
	defer leakcheck.Check(t)()
	f := newFixture(t, 32<<10, 100000)
	for _, size := range []int64{1 << 40, fetcher.MaxMetadataSize + 1, 0, -5} {
		t.Run(fmt.Sprint(size), func(t *testing.T) {
			fp, addr := startFakeMetaPeer(t, f.mi.InfoHash, f.mi.InfoBytes, size)
			c := newClient(t, nil, nil)
			me := resolveFails(t, c, magnetFor(f, addr), 500*time.Millisecond)
			if me.Progress.Rejected != 1 || me.Progress.PeersWithMeta != 0 || me.Progress.PeersTried != 1 {
				t.Errorf("progress %+v: want the one peer rejected", me.Progress)
			}
			select {
			case p := <-fp.served:
				t.Errorf("asked the peer for piece %d", p)
			default:
			}
		})
	}
}

func TestResolveMagnetInconsistentSize(t *testing.T) {
	defer leakcheck.Check(t)()
	f := newFixture(t, 32<<10, 100000)
	// The handshake's metadata_size is one more than the data it has.
	_, addr := startFakeMetaPeer(t, f.mi.InfoHash, f.mi.InfoBytes, int64(len(f.mi.InfoBytes))+1)
	c := newClient(t, nil, nil)
	me := resolveFails(t, c, magnetFor(f, addr), 500*time.Millisecond)
	if me.Progress.Rejected != 1 {
		t.Errorf("progress %+v: want the peer rejected", me.Progress)
	}
}

func TestResolveMagnetNoPeers(t *testing.T) {
	defer leakcheck.Check(t)()
	f := newFixture(t, 32<<10, 100000)

	t.Run("no sources", func(t *testing.T) {
		c := newClient(t, nil, nil)
		_, err := c.ResolveMagnet(context.Background(), magnetFor(f), nil)
		if !errors.Is(err, fetcher.ErrNoPeerSources) {
			t.Fatalf("error %v, want ErrNoPeerSources", err)
		}
	})
	t.Run("tracker knows nobody", func(t *testing.T) {
		tr := testswarm.NewTracker(testLogger(t))
		if err := tr.Start(context.Background(), "127.0.0.1:0"); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { tr.Close() })
		c := newClient(t, nil, func(o *fetcher.Options) { o.DisableTrackers = false })
		m := magnetFor(f)
		m.Trackers = []string{tr.URL()}
		me := resolveFails(t, c, m, time.Second)
		if p := me.Progress; p.PeersFound != 0 || p.TrackersAnswered != 1 {
			t.Errorf("progress %+v: want one tracker answer and no peers", p)
		}
		if peers := tr.Peers(f.mi.InfoHash); len(peers) != 0 {
			t.Errorf("after giving up, the tracker still lists %v", peers)
		}
	})
	t.Run("peer unreachable", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		dead := netip.MustParseAddrPort(ln.Addr().String())
		ln.Close()
		c := newClient(t, nil, nil)
		me := resolveFails(t, c, magnetFor(f, dead), 500*time.Millisecond)
		if p := me.Progress; p.PeersFound != 1 || p.PeersTried != 0 {
			t.Errorf("progress %+v: want one peer found and none connected", p)
		}
	})
	t.Run("peer without the torrent", func(t *testing.T) {
		g := newFixture(t, 32<<10, 5000)
		_, addr := startSeeder(t, g) // seeds something else: refuses our handshake
		c := newClient(t, nil, nil)
		me := resolveFails(t, c, magnetFor(f, addr), 500*time.Millisecond)
		if p := me.Progress; p.PeersFound != 1 || p.PeersWithMeta != 0 {
			t.Errorf("progress %+v", p)
		}
	})
}

func TestResolveMagnetStopsWhenClientCloses(t *testing.T) {
	defer leakcheck.Check(t)()
	f := newFixture(t, 32<<10, 100000)
	fp, addr := startFakeMetaPeer(t, f.mi.InfoHash, nil, 1<<50) // rejected at once
	_ = fp
	c := newClient(t, nil, nil)
	errc := make(chan error, 1)
	go func() {
		_, err := c.ResolveMagnet(context.Background(), magnetFor(f, addr), nil)
		errc <- err
	}()
	time.Sleep(100 * time.Millisecond)
	c.Close()
	select {
	case err := <-errc:
		if !errors.Is(err, fetcher.ErrClosed) {
			t.Fatalf("error %v, want ErrClosed", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("ResolveMagnet still running after Close")
	}
}

// TestResolveMagnetRetriesPeer: the magnet's only peer is not up yet when
// resolution starts; it is dialed again and serves the metadata.
func TestResolveMagnetRetriesPeer(t *testing.T) {
	defer leakcheck.Check(t)()
	f := newFixture(t, 32<<10, 100000)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := netip.MustParseAddrPort(ln.Addr().String())
	ln.Close()
	c := newClient(t, nil, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	type result struct {
		mi  *metainfo.MetaInfo
		err error
	}
	done := make(chan result, 1)
	go func() {
		mi, err := c.ResolveMagnet(ctx, magnetFor(f, addr), nil)
		done <- result{mi, err}
	}()
	time.Sleep(300 * time.Millisecond)
	store := piececache.NewMemory()
	f.fill(t, store)
	seeder := newClient(t, store, func(o *fetcher.Options) { o.ListenAddr = addr.String() })
	if _, err := seeder.AddTorrent(ctx, f.mi); err != nil {
		t.Fatal(err)
	}
	res := <-done
	if res.err != nil {
		t.Fatal(res.err)
	}
	checkResolved(t, res.mi, f)
}
