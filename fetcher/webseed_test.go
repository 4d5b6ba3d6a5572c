package fetcher_test

import (
	"bytes"
	"context"
	"log/slog"
	"net/netip"
	"testing"
	"time"

	"github.com/torrentfs/torrentfs/fetcher"
	"github.com/torrentfs/torrentfs/internal/leakcheck"
	"github.com/torrentfs/torrentfs/internal/testbytes"
	"github.com/torrentfs/torrentfs/metainfo"
	"github.com/torrentfs/torrentfs/piececache"
)

// withWebseeds is mi with the given url-list; the info hash is unchanged.
func withWebseeds(mi *metainfo.MetaInfo, urls ...string) *metainfo.MetaInfo {
	m := *mi
	m.URLList = urls
	return &m
}

// namedFixture is a torrent of files with the given paths and sizes.
func namedFixture(t testing.TB, name string, pieceLen int64, single bool, paths [][]string, sizes []int) *fixture {
	t.Helper()
	f := &fixture{}
	var cfs []metainfo.CreateFile
	for i, n := range sizes {
		b := testbytes.Bytes(uint64(200+i), n)
		f.files = append(f.files, b)
		f.stream = append(f.stream, b...)
		cfs = append(cfs, metainfo.CreateFile{Path: paths[i], Length: int64(n), Data: bytes.NewReader(b)})
	}
	_, mi, err := metainfo.Create(metainfo.CreateOptions{Name: name, PieceLength: pieceLen, SingleFile: single}, cfs)
	if err != nil {
		t.Fatal(err)
	}
	f.mi = mi
	return f
}

// readFiles reads every file of the torrent and compares it with f.
func readFiles(t *testing.T, ctx context.Context, tor *fetcher.Torrent, f *fixture) {
	t.Helper()
	for i, want := range f.files {
		r := tor.NewReader(i)
		got, err := readAll(ctx, r, 7000)
		r.Close()
		if err != nil || !bytes.Equal(got, want) {
			t.Fatalf("file %d: err %v, %d bytes read of %d, equal %v", i, err, len(got), len(want), bytes.Equal(got, want))
		}
	}
}

// webLeecher starts a client for f whose torrent lists ws as its web seed.
func webLeecher(t *testing.T, f *fixture, ws *webServer, url string, mod func(*fetcher.Options)) *fetcher.Torrent {
	t.Helper()
	c := newClient(t, nil, func(o *fetcher.Options) {
		o.HTTPClient = ws.srv.Client()
		if mod != nil {
			mod(o)
		}
	})
	tor, err := c.AddTorrent(context.Background(), withWebseeds(f.mi, url))
	if err != nil {
		t.Fatal(err)
	}
	return tor
}

func TestWebseedAloneServesReaders(t *testing.T) {
	defer leakcheck.Check(t)()
	single := namedFixture(t, "movie file.bin", 32<<10, true, [][]string{{"movie file.bin"}}, []int{150_001})
	odd := namedFixture(t, "my torrent", 16<<10, false,
		[][]string{{"sub dir", "100%#?.bin"}, {"ünï", "a+b"}, {"empty"}, {"z"}},
		[]int{40_000, 25_003, 0, 9})
	cases := []struct {
		name string
		f    *fixture
		url  func(*webServer) string
	}{
		{"multi-file", newFixture(t, 32<<10, 50_000, 70_001, 13, 30_000), (*webServer).base},
		{"multi-file escaped names", odd, (*webServer).base},
		{"single-file folder URL", single, (*webServer).base},
		{"single-file file URL", single, func(s *webServer) string { return s.base() + "movie%20file.bin" }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ws := startWebServer(t, tc.f.mi, tc.f.stream)
			tor := webLeecher(t, tc.f, ws, tc.url(ws), nil)
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			readFiles(t, ctx, tor, tc.f)
			if got, want := ws.served.Load(), tc.f.mi.Info.TotalLength; got != want {
				t.Fatalf("the web seed sent %d bytes for a %d-byte torrent", got, want)
			}
		})
	}
}

func TestWebseedBackgroundFetchesEverything(t *testing.T) {
	defer leakcheck.Check(t)()
	f := newFixture(t, 32<<10, 100_000, 77_777)
	ws := startWebServer(t, f.mi, f.stream)
	tor := webLeecher(t, f, ws, ws.base(), func(o *fetcher.Options) { o.Background = true })
	deadline := time.Now().Add(10 * time.Second)
	for tor.Stats().HavePieces < tor.Stats().Pieces {
		if time.Now().After(deadline) {
			t.Fatalf("background fetch from the web seed: %+v", tor.Stats())
		}
		time.Sleep(10 * time.Millisecond)
	}
	if got := ws.served.Load(); got != f.mi.Info.TotalLength {
		t.Fatalf("the web seed sent %d bytes for a %d-byte torrent", got, f.mi.Info.TotalLength)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	readFiles(t, ctx, tor, f)
}

func TestWebseedWithBadPieceIsDisabled(t *testing.T) {
	defer leakcheck.Check(t)()
	f := newFixture(t, 32<<10, 300_000)
	const bad = 3
	stream := bytes.Clone(f.stream)
	stream[f.mi.Info.PieceOffset(bad)+100] ^= 0xff
	ws := startWebServer(t, f.mi, stream)
	logs := &logBuffer{}
	tor := webLeecher(t, f, ws, ws.base(), func(o *fetcher.Options) {
		o.Logger = slog.New(slog.NewTextHandler(logs, nil))
	})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	r := tor.NewReader(0)
	defer r.Close()
	// Only the web seed can serve the bad piece: the read must wait.
	type result struct {
		b   []byte
		err error
	}
	done := make(chan result, 1)
	go func() {
		b := make([]byte, f.mi.Info.PieceSize(bad))
		n, err := r.ReadAt(ctx, b, f.mi.Info.PieceOffset(bad))
		done <- result{b[:n], err}
	}()
	deadline := time.Now().Add(10 * time.Second)
	for logs.count("disabling web seed") == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("the web seed was not disabled; %d requests", ws.reqs.Load())
		}
		time.Sleep(10 * time.Millisecond)
	}
	select {
	case res := <-done:
		t.Fatalf("the read finished with only a lying web seed: err %v", res.err)
	case <-time.After(100 * time.Millisecond):
	}
	reqs := ws.reqs.Load()
	_, honest := startSeeder(t, f)
	tor.AddPeers(honest)
	res := <-done
	if res.err != nil || !bytes.Equal(res.b, f.piece(bad)) {
		t.Fatalf("read of the bad piece: err %v, equal %v", res.err, bytes.Equal(res.b, f.piece(bad)))
	}
	readFiles(t, ctx, tor, f)
	// At most the fetch in flight when it was disabled ends after it.
	if n := ws.reqs.Load() - reqs; n > 1 {
		t.Fatalf("the disabled web seed got %d more requests", n)
	}
	if n := logs.count("disabling web seed"); n != 1 {
		t.Fatalf("%d log lines disabling the web seed, want 1", n)
	}
}

func TestWebseedBadAnswersBackOffAndPeersServe(t *testing.T) {
	defer leakcheck.Check(t)()
	modes := []struct {
		name string
		mode webMode
	}{
		{"500", web500},
		{"200 without range", webNoRange},
		{"truncated body", webTruncate},
		{"body too long", webLong},
	}
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			f := newFixture(t, 32<<10, 400_000, 123_457)
			ws := startWebServer(t, f.mi, f.stream)
			ws.mode.Store(int32(m.mode))
			logs := &logBuffer{}
			tor := webLeecher(t, f, ws, ws.base(), func(o *fetcher.Options) {
				o.Logger = slog.New(slog.NewTextHandler(logs, nil))
			})
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			r := tor.NewReader(0)
			defer r.Close()
			type result struct {
				b   []byte
				err error
			}
			done := make(chan result, 1)
			go func() {
				b, err := readAll(ctx, r, 10000)
				done <- result{b, err}
			}()
			deadline := time.Now().Add(10 * time.Second)
			for logs.count("web seed failing") == 0 {
				if time.Now().After(deadline) {
					t.Fatalf("no warning about the failing web seed; %d requests", ws.reqs.Load())
				}
				time.Sleep(5 * time.Millisecond)
			}
			select {
			case res := <-done:
				t.Fatalf("the read finished with only a broken web seed: err %v", res.err)
			case <-time.After(50 * time.Millisecond):
			}
			_, honest := startSeeder(t, f)
			tor.AddPeers(honest)
			res := <-done
			if res.err != nil || !bytes.Equal(res.b, f.files[0]) {
				t.Fatalf("err %v, equal %v", res.err, bytes.Equal(res.b, f.files[0]))
			}
			readFiles(t, ctx, tor, f)
			// Backing off 1 s, then 2 s: a couple of requests at most.
			if n := ws.reqs.Load(); n > 3 {
				t.Fatalf("the failing web seed got %d requests; want it to back off", n)
			}
			if n := logs.count("web seed failing"); n != 1 {
				t.Fatalf("%d warnings about the failing web seed, want 1 per state change", n)
			}
		})
	}
}

func TestWebseedAndPeerShareTheWork(t *testing.T) {
	defer leakcheck.Check(t)()
	const pieceLen = 64 << 10
	f := newFixture(t, pieceLen, 6<<20+12345, 1<<20)
	store := piececache.NewMemory()
	f.fill(t, store)
	sc := newClient(t, store, nil)
	seed, err := sc.AddTorrent(context.Background(), f.mi)
	if err != nil {
		t.Fatal(err)
	}
	ws := startWebServer(t, f.mi, f.stream)
	tor := webLeecher(t, f, ws, ws.base(), nil)
	tor.AddPeers(mustAddrPort(t, sc))
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	readFiles(t, ctx, tor, f)
	web, peer := ws.served.Load(), seed.Stats().Uploaded
	total := f.mi.Info.TotalLength
	t.Logf("web seed sent %d bytes, the peer %d, of %d", web, peer, total)
	if web == 0 || peer == 0 {
		t.Fatalf("web seed sent %d bytes and the peer %d: both should contribute", web, peer)
	}
	// The web seed fetches nothing twice, and only what no peer was
	// fetching. Blocks late from one source may be asked of the other (and
	// a peer may send a block before our cancel reaches it), but no whole
	// share of the torrent is fetched twice.
	if web > total {
		t.Fatalf("the web seed sent %d bytes for a %d-byte torrent", web, total)
	}
	if web+peer > total+total/8 {
		t.Fatalf("%d bytes downloaded for a %d-byte torrent", web+peer, total)
	}
}

func mustAddrPort(t testing.TB, c *fetcher.Client) netip.AddrPort {
	t.Helper()
	return netip.MustParseAddrPort(c.Addr().String())
}

// A fast web seed is asked for many pieces per request, not one round
// trip per piece.
func TestWebseedRequestsSpanPieces(t *testing.T) {
	defer leakcheck.Check(t)()
	f := newFixture(t, 16<<10, 4<<20+5)
	ws := startWebServer(t, f.mi, f.stream)
	tor := webLeecher(t, f, ws, ws.base(), func(o *fetcher.Options) { o.Background = true })
	deadline := time.Now().Add(10 * time.Second)
	for tor.Stats().HavePieces < tor.Stats().Pieces {
		if time.Now().After(deadline) {
			t.Fatalf("background fetch from the web seed: %+v", tor.Stats())
		}
		time.Sleep(10 * time.Millisecond)
	}
	pieces := int64(f.mi.Info.NumPieces())
	if n := ws.reqs.Load(); n > pieces/4 {
		t.Fatalf("%d requests for %d pieces: want requests that span pieces", n, pieces)
	}
	if got := ws.served.Load(); got != f.mi.Info.TotalLength {
		t.Fatalf("the web seed sent %d bytes for a %d-byte torrent", got, f.mi.Info.TotalLength)
	}
	t.Logf("%d requests for %d pieces", ws.reqs.Load(), pieces)
}

// A server without range support still serves a whole file that is asked
// for whole: 200 with exactly the file's length.
func TestWebseedWholeSmallFileWithoutRanges(t *testing.T) {
	defer leakcheck.Check(t)()
	f := namedFixture(t, "small.bin", 32<<10, true, [][]string{{"small.bin"}}, []int{20_000})
	ws := startWebServer(t, f.mi, f.stream)
	ws.mode.Store(int32(webNoRange))
	tor := webLeecher(t, f, ws, ws.base(), nil)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	readFiles(t, ctx, tor, f)
}

// A web seed that failed is asked again after its backoff, and serves once
// it works again.
func TestWebseedRecoversAfterBackoff(t *testing.T) {
	defer leakcheck.Check(t)()
	f := newFixture(t, 32<<10, 100_000)
	ws := startWebServer(t, f.mi, f.stream)
	ws.mode.Store(int32(web500))
	logs := &logBuffer{}
	tor := webLeecher(t, f, ws, ws.base(), func(o *fetcher.Options) {
		o.Logger = slog.New(slog.NewTextHandler(logs, nil))
	})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	r := tor.NewReader(0)
	defer r.Close()
	done := make(chan error, 1)
	var got []byte
	go func() {
		var err error
		got, err = readAll(ctx, r, 10000)
		done <- err
	}()
	deadline := time.Now().Add(5 * time.Second)
	for ws.reqs.Load() == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the web seed was never asked")
		}
		time.Sleep(5 * time.Millisecond)
	}
	failedAt := time.Now()
	ws.mode.Store(int32(webHonest))
	if err := <-done; err != nil || !bytes.Equal(got, f.files[0]) {
		t.Fatalf("err %v, equal %v", err, bytes.Equal(got, f.files[0]))
	}
	if d := time.Since(failedAt); d < 500*time.Millisecond {
		t.Fatalf("the web seed was asked again after %v: want a backoff of about 1 s", d)
	}
	if logs.count("web seed failing") != 1 || logs.count("web seed working again") != 1 {
		t.Fatalf("want one warning and one recovery line; logs:\n%s", logs)
	}
}

// Of several listed web seeds, unusable URLs are ignored, a dead server
// backs off, and the working ones serve.
func TestWebseedSeveralURLs(t *testing.T) {
	defer leakcheck.Check(t)()
	f := newFixture(t, 32<<10, 200_000, 55_555)
	good1 := startWebServer(t, f.mi, f.stream)
	good2 := startWebServer(t, f.mi, f.stream)
	dead := startWebServer(t, f.mi, f.stream)
	deadURL := dead.base()
	dead.srv.Close()
	c := newClient(t, nil, nil)
	tor, err := c.AddTorrent(context.Background(), withWebseeds(f.mi, "ftp://example.invalid/", "not a url", deadURL, good1.base(), good2.base(), good1.base()))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	readFiles(t, ctx, tor, f)
	if n := good1.served.Load() + good2.served.Load(); n != f.mi.Info.TotalLength {
		t.Fatalf("the web seeds sent %d bytes for a %d-byte torrent", n, f.mi.Info.TotalLength)
	}
}

// A reader that seeks away from a long web seed fetch does not wait for
// it: the fetch stops once nobody waits for the rest of its span.
func TestWebseedSeekPreemptsALongFetch(t *testing.T) {
	defer leakcheck.Check(t)()
	f := newFixture(t, 256<<10, 24<<20)
	ws := startWebServer(t, f.mi, f.stream)
	ws.bps.Store(8 << 20)
	tor := webLeecher(t, f, ws, ws.base(), nil)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	r := tor.NewReader(0)
	defer r.Close()
	buf := make([]byte, 128<<10)
	// Read sequentially so that the web seed's requests grow to span about
	// a second of its rate.
	for off := int64(0); off < 4<<20; off += int64(len(buf)) {
		if _, err := r.ReadAt(ctx, buf, off); err != nil {
			t.Fatal(err)
		}
	}
	// A 256 KiB piece takes 32 ms at 8 MB/s; the fetch before a seek
	// would hold a reader up to a second.
	var total time.Duration
	for _, off := range []int64{20 << 20, 12 << 20, 16 << 20} {
		start := time.Now()
		n, err := r.ReadAt(ctx, buf[:64<<10], off)
		d := time.Since(start)
		total += d
		if err != nil || !bytes.Equal(buf[:n], f.files[0][off:off+int64(n)]) {
			t.Fatalf("read at %d: err %v", off, err)
		}
		t.Logf("read at %d MiB after a seek: %v", off>>20, d)
		if d > 400*time.Millisecond {
			t.Fatalf("read at %d after a seek took %v: it waited for the fetch before it", off, d)
		}
	}
	if total > 600*time.Millisecond {
		t.Fatalf("three reads after seeks took %v: they waited for the fetches before them", total)
	}
}
