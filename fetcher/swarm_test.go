package fetcher_test

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"

	"github.com/torrentfs/torrentfs/fetcher"
	"github.com/torrentfs/torrentfs/internal/leakcheck"
	"github.com/torrentfs/torrentfs/piececache"
)

func TestMain(m *testing.M) { leakcheck.Main(m) }

func TestDownloadEveryFileFromOneSeeder(t *testing.T) {
	defer leakcheck.Check(t)()
	// 32 KiB pieces: files cross piece boundaries, one file is empty, one is
	// a single byte, and the last piece is short.
	f := newFixture(t, 32<<10, 10000, 70000, 1, 0, 50001)
	_, seedAddr := startSeeder(t, f)
	leech, tor := leech(t, f, nil, seedAddr)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for i, want := range f.files {
		r := tor.NewReader(i)
		got, err := readAll(ctx, r, 7000)
		r.Close()
		if err != nil {
			t.Fatalf("file %d: %v", i, err)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("file %d: read %d bytes that differ from the %d written", i, len(got), len(want))
		}
	}
	if s := tor.Stats(); s.HavePieces != s.Pieces {
		t.Fatalf("after reading everything, have %d of %d pieces", s.HavePieces, s.Pieces)
	}
	leech.Close()
}

func TestReadInTheMiddleFetchesThoseBytesFirst(t *testing.T) {
	defer leakcheck.Check(t)()
	f := newFixture(t, 16<<10, 1<<20)
	_, seedAddr := startSeeder(t, f)
	_, tor := leech(t, f, nil, seedAddr)
	r := tor.NewReader(0)
	defer r.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	off := int64(700 << 10)
	buf := make([]byte, 5000)
	n, err := r.ReadAt(ctx, buf, off)
	if err != nil || n != len(buf) {
		t.Fatalf("ReadAt = %d, %v", n, err)
	}
	if !bytes.Equal(buf, f.files[0][off:off+int64(n)]) {
		t.Fatal("bytes read in the middle differ from the file")
	}
	// Only the read and its small readahead window were fetched, not the
	// whole torrent.
	if s := tor.Stats(); s.HavePieces == s.Pieces {
		t.Fatalf("a 5000-byte read fetched all %d pieces", s.Pieces)
	}
}

func TestPersistedPiecesAreNotFetchedAgain(t *testing.T) {
	defer leakcheck.Check(t)()
	f := newFixture(t, 16<<10, 100000)
	store := piececache.NewMemory()
	f.fill(t, store)
	// No peers at all: every read must be served from the store.
	c := newClient(t, store, nil)
	tor, err := c.AddTorrent(context.Background(), f.mi)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	r := tor.NewReader(0)
	defer r.Close()
	got, err := readAll(ctx, r, 4096)
	if err != nil || !bytes.Equal(got, f.files[0]) {
		t.Fatalf("read from store: err %v, equal %v", err, bytes.Equal(got, f.files[0]))
	}
	if s := tor.Stats(); s.Downloaded != 0 {
		t.Fatalf("downloaded %d bytes for pieces already stored", s.Downloaded)
	}
}

func TestReadTimeoutWithNoPeers(t *testing.T) {
	defer leakcheck.Check(t)()
	f := newFixture(t, 16<<10, 50000)
	_, tor := leech(t, f, func(o *fetcher.Options) { o.ReadTimeout = 200 * time.Millisecond })
	r := tor.NewReader(0)
	defer r.Close()
	start := time.Now()
	_, err := r.ReadAt(context.Background(), make([]byte, 100), 0)
	if !errors.Is(err, fetcher.ErrReadTimeout) {
		t.Fatalf("err = %v, want ErrReadTimeout", err)
	}
	if el := time.Since(start); el > 2*time.Second {
		t.Fatalf("timed out after %s, want about 200ms", el)
	}
}

func TestReadHonoursContextCancellation(t *testing.T) {
	defer leakcheck.Check(t)()
	f := newFixture(t, 16<<10, 50000)
	_, tor := leech(t, f, nil)
	r := tor.NewReader(0)
	defer r.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if _, err := r.ReadAt(ctx, make([]byte, 100), 0); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want context.DeadlineExceeded", err)
	}
}

func TestCloseUnblocksReaders(t *testing.T) {
	defer leakcheck.Check(t)()
	f := newFixture(t, 16<<10, 50000)
	c, tor := leech(t, f, nil)
	r := tor.NewReader(0)
	errc := make(chan error, 1)
	go func() {
		_, err := r.ReadAt(context.Background(), make([]byte, 100), 0)
		errc <- err
	}()
	time.Sleep(50 * time.Millisecond)
	c.Close()
	select {
	case err := <-errc:
		if !errors.Is(err, fetcher.ErrClosed) {
			t.Fatalf("err = %v, want ErrClosed", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("a blocked read did not return after Close")
	}
}

func TestSeveralSeedersShareTheWork(t *testing.T) {
	defer leakcheck.Check(t)()
	f := newFixture(t, 64<<10, 3<<20+12345)
	_, a1 := startSeeder(t, f)
	_, a2 := startSeeder(t, f)
	_, a3 := startSeeder(t, f)
	_, tor := leech(t, f, nil, a1, a2, a3)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	r := tor.NewReader(0)
	defer r.Close()
	got, err := readAll(ctx, r, 128<<10)
	if err != nil || !bytes.Equal(got, f.files[0]) {
		t.Fatalf("err %v, equal %v", err, bytes.Equal(got, f.files[0]))
	}
}
