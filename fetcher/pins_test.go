package fetcher_test

import (
	"context"
	"testing"
	"time"

	"github.com/torrentfs/torrentfs/internal/leakcheck"
	"github.com/torrentfs/torrentfs/piececache"
)

func TestReadersPinTheirWindowUntilClosed(t *testing.T) {
	defer leakcheck.Check(t)()
	f := newFixture(t, 64<<10, 4<<20)
	_, seed := startSeeder(t, f)
	store := piececache.NewMemoryLimit(64 << 20)
	c := newClient(t, store, nil)
	tor, err := c.AddTorrent(context.Background(), f.mi)
	if err != nil {
		t.Fatal(err)
	}
	tor.AddPeers(seed)
	r := tor.NewReader(0)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	buf := make([]byte, 128<<10)
	for off := int64(0); off < 1<<20; off += int64(len(buf)) {
		if _, err := r.ReadAt(ctx, buf, off); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "the window's pieces to be stored pinned", func() bool { return store.PinnedBytes() > 0 })
	r.Close()
	if n := store.PinnedBytes(); n != 0 {
		t.Fatalf("%d bytes still pinned after the reader closed", n)
	}
}

func TestWindowsShrinkToASmallCache(t *testing.T) {
	defer leakcheck.Check(t)()
	f := newFixture(t, 64<<10, 16<<20)
	_, seed := startSeeder(t, f)
	store := piececache.NewMemoryLimit(2 << 20) // windows may pin at most 1 MiB
	c := newClient(t, store, nil)
	tor, err := c.AddTorrent(context.Background(), f.mi)
	if err != nil {
		t.Fatal(err)
	}
	tor.AddPeers(seed)
	r := tor.NewReader(0)
	defer r.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	buf := make([]byte, 128<<10)
	for off := int64(0); off < 4<<20; off += int64(len(buf)) {
		if _, err := r.ReadAt(ctx, buf, off); err != nil {
			t.Fatal(err)
		}
		if n := store.PinnedBytes(); n > 1<<20+64<<10 {
			t.Fatalf("at %d: %d bytes pinned, over half the 2 MiB limit plus a piece", off, n)
		}
	}
	// Reading 4 MiB sequentially with 64 MiB windows would have fetched
	// all 16 MiB; the capped window keeps readahead near 1 MiB.
	if s := tor.Stats(); s.HavePieces > 4<<20/(64<<10)+1<<20/(64<<10)+4 {
		t.Fatalf("fetched %d of %d pieces reading the first 4 MiB under a 2 MiB cache", s.HavePieces, s.Pieces)
	}
}
