package fetcher_test

import (
	"bytes"
	"context"
	"crypto/sha1"
	"io"
	"log/slog"
	"net/netip"
	"os"
	"testing"

	"github.com/torrentfs/torrentfs/fetcher"
	"github.com/torrentfs/torrentfs/internal/testbytes"
	"github.com/torrentfs/torrentfs/metainfo"
	"github.com/torrentfs/torrentfs/piececache"
)

// fixture is a generated torrent and the bytes of its files.
type fixture struct {
	mi     *metainfo.MetaInfo
	files  [][]byte
	stream []byte // the files concatenated: the torrent's byte stream
}

// newFixture makes a torrent of files with the given sizes. Sizes that do
// not divide the piece length give a short last piece and files that
// cross piece boundaries.
func newFixture(t testing.TB, pieceLen int64, sizes ...int) *fixture {
	t.Helper()
	f := &fixture{}
	var cfs []metainfo.CreateFile
	for i, n := range sizes {
		b := testbytes.Bytes(uint64(100+i), n)
		f.files = append(f.files, b)
		f.stream = append(f.stream, b...)
		cfs = append(cfs, metainfo.CreateFile{Path: []string{"dir", string(rune('a' + i))}, Length: int64(n), Data: bytes.NewReader(b)})
	}
	_, mi, err := metainfo.Create(metainfo.CreateOptions{Name: "fixture", PieceLength: pieceLen}, cfs)
	if err != nil {
		t.Fatal(err)
	}
	f.mi = mi
	return f
}

// piece returns piece i's bytes.
func (f *fixture) piece(i int) []byte {
	off := f.mi.Info.PieceOffset(i)
	return f.stream[off : off+f.mi.Info.PieceSize(i)]
}

// fill puts every piece into store, checking each against its hash.
func (f *fixture) fill(t testing.TB, store fetcher.Storage) {
	t.Helper()
	for i := range f.mi.Info.NumPieces() {
		if sha1.Sum(f.piece(i)) != f.mi.Info.Pieces[i] {
			t.Fatalf("fixture piece %d does not match its hash", i)
		}
		if err := store.Put(context.Background(), f.mi.InfoHash, i, f.piece(i)); err != nil {
			t.Fatal(err)
		}
	}
}

func testLogger(t testing.TB) *slog.Logger {
	if testing.Verbose() || os.Getenv("TORRENTFS_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug})).With("test", t.Name())
	}
	return slog.New(slog.DiscardHandler)
}

// newClient starts a client on 127.0.0.1 with its own memory store.
func newClient(t testing.TB, store fetcher.Storage, mod func(*fetcher.Options)) *fetcher.Client {
	t.Helper()
	if store == nil {
		store = piececache.NewMemory()
	}
	opts := fetcher.Options{Logger: testLogger(t), ListenAddr: "127.0.0.1:0", Storage: store, DisableTrackers: true}
	if mod != nil {
		mod(&opts)
	}
	c, err := fetcher.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// startSeeder starts a client that holds every piece of f.
func startSeeder(t testing.TB, f *fixture) (*fetcher.Client, netip.AddrPort) {
	t.Helper()
	store := piececache.NewMemory()
	f.fill(t, store)
	c := newClient(t, store, nil)
	if _, err := c.AddTorrent(context.Background(), f.mi); err != nil {
		t.Fatal(err)
	}
	return c, netip.MustParseAddrPort(c.Addr().String())
}

// readAll reads file i through r in chunks of size chunk.
func readAll(ctx context.Context, r *fetcher.Reader, chunk int) ([]byte, error) {
	var out []byte
	buf := make([]byte, chunk)
	for off := int64(0); ; {
		n, err := r.ReadAt(ctx, buf, off)
		out = append(out, buf[:n]...)
		off += int64(n)
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return out, err
		}
	}
}

// leech starts a client (options changed by mod, if not nil), adds f's
// torrent to it and gives it peers.
func leech(t testing.TB, f *fixture, mod func(*fetcher.Options), peers ...netip.AddrPort) (*fetcher.Client, *fetcher.Torrent) {
	t.Helper()
	c := newClient(t, nil, mod)
	tor, err := c.AddTorrent(context.Background(), f.mi)
	if err != nil {
		t.Fatal(err)
	}
	tor.AddPeers(peers...)
	return c, tor
}
