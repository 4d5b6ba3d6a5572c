package piececache

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/torrentfs/torrentfs/internal/leakcheck"
)

// limitedFactories open each store with a size limit, for the behaviours
// that depend on eviction.
func limitedFactories() []struct {
	name string
	open func(t *testing.T, limit int64) store
} {
	return []struct {
		name string
		open func(t *testing.T, limit int64) store
	}{
		{"Badger", func(t *testing.T, limit int64) store {
			c, _ := openTest(t, Options{MaxBytes: limit, valueLogFileSize: 2 << 20})
			return c
		}},
		{"Memory", func(t *testing.T, limit int64) store {
			m := NewMemoryLimit(limit)
			t.Cleanup(func() { m.Close() })
			return m
		}},
	}
}

var limitedConformance = []struct {
	name string
	run  func(t *testing.T, open func(limit int64) store)
}{
	{"PinsSurviveEviction", testPinsSurviveEviction},
	{"PinsNeverExceedLimit", testPinsNeverExceedLimit},
	{"PinCounting", testPinCounting},
	{"DeleteTorrent", testDeleteTorrent},
	{"DeletePiece", testDeletePiece},
}

func TestConformanceLimited(t *testing.T) {
	for _, f := range limitedFactories() {
		t.Run(f.name, func(t *testing.T) {
			for _, c := range limitedConformance {
				t.Run(c.name, func(t *testing.T) {
					t.Cleanup(leakcheck.Check(t))
					c.run(t, func(limit int64) store { return f.open(t, limit) })
				})
			}
		})
	}
}

const pinPiece = 64 << 10

// testPinsSurviveEviction: a reader's window, pinned, stays while far more
// than the limit streams through, even though it is never read (so it is
// the least recently used).
func testPinsSurviveEviction(t *testing.T, open func(int64) store) {
	s := open(1 << 20)
	if s.Limit() != 1<<20 {
		t.Fatalf("Limit() = %d, want %d", s.Limit(), 1<<20)
	}
	ih := hash(1)
	for p := range 4 { // the window: pinned before and after they arrive
		if p%2 == 0 {
			s.Pin(ih, p)
		}
		mustPut(t, s, ih, p, pieceData(1, p, pinPiece))
		if p%2 == 1 {
			s.Pin(ih, p)
		}
	}
	if got := s.PinnedBytes(); !aboutBytes(got, 4*pinPiece, 4) {
		t.Errorf("PinnedBytes = %d, want about %d", got, 4*pinPiece)
	}
	for p := 4; p < 100; p++ { // 6 MiB through a 1 MiB cache
		mustPut(t, s, ih, p, pieceData(1, p, pinPiece))
		if st := s.Stats(); st.Bytes > 1<<20+pinPiece+4096 {
			t.Fatalf("after piece %d: Bytes %d over the limit", p, st.Bytes)
		}
	}
	for p := range 4 {
		if !s.Has(ih, p) {
			t.Fatalf("pinned piece %d was evicted", p)
		}
		checkRead(t, s, ih, p, pieceData(1, p, pinPiece), 0, pinPiece)
	}
	if s.Has(ih, 10) {
		t.Errorf("unpinned old piece 10 still held")
	}
	// Unpinned, they are ordinary pieces again: the next writes evict them
	// (nothing reads them).
	for p := range 4 {
		s.Unpin(ih, p)
	}
	if got := s.PinnedBytes(); got != 0 {
		t.Errorf("PinnedBytes after Unpin = %d", got)
	}
	for p := 100; p < 130; p++ {
		mustPut(t, s, ih, p, pieceData(1, p, pinPiece))
	}
	for p := range 4 {
		if s.Has(ih, p) {
			t.Errorf("unpinned piece %d never evicted", p)
		}
	}
}

// testPinsNeverExceedLimit: pins of more than the limit do not take the
// cache over it; the least recently used pinned pieces go.
func testPinsNeverExceedLimit(t *testing.T, open func(int64) store) {
	s := open(1 << 20)
	ih := hash(2)
	for p := range 40 { // 2.5 MiB, all pinned
		s.Pin(ih, p)
		mustPut(t, s, ih, p, pieceData(2, p, pinPiece))
		if st := s.Stats(); st.Bytes > 1<<20+pinPiece+4096 {
			t.Fatalf("after pinned piece %d: Bytes %d over the limit", p, st.Bytes)
		}
	}
	if s.PinnedBytes() > s.Limit() {
		t.Errorf("PinnedBytes %d > Limit %d", s.PinnedBytes(), s.Limit())
	}
	if !s.Has(ih, 39) || s.Has(ih, 0) {
		t.Errorf("want the newest pinned pieces kept and the oldest evicted")
	}
}

func testPinCounting(t *testing.T, open func(int64) store) {
	s := open(0)
	ih := hash(3)
	mustPut(t, s, ih, 0, pieceData(3, 0, 1000))
	s.Unpin(ih, 0) // not pinned: nothing happens
	s.Pin(ih, 0)
	s.Pin(ih, 0)
	s.Pin(ih, 5) // not held: counts nothing in PinnedBytes
	s.Pin(ih, -1)
	if got := s.PinnedBytes(); !aboutBytes(got, 1000, 1) {
		t.Fatalf("PinnedBytes = %d, want about 1000", got)
	}
	s.Unpin(ih, 0)
	if s.PinnedBytes() == 0 {
		t.Fatalf("one Unpin of two Pins unpinned the piece")
	}
	s.Unpin(ih, 0)
	if got := s.PinnedBytes(); got != 0 {
		t.Fatalf("PinnedBytes after both Unpins = %d", got)
	}
	mustPut(t, s, ih, 5, pieceData(3, 5, 2000)) // pinned before it arrived
	if got := s.PinnedBytes(); !aboutBytes(got, 2000, 1) {
		t.Fatalf("PinnedBytes = %d after the pinned piece arrived, want about 2000", got)
	}
}

func testDeleteTorrent(t *testing.T, open func(int64) store) {
	s := open(0)
	ctx := context.Background()
	for p := range 5 {
		mustPut(t, s, hash(4), p, pieceData(4, p, 10000))
		mustPut(t, s, hash(5), p, pieceData(5, p, 10000))
	}
	if err := s.DeleteTorrent(ctx, hash(4)); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.Pieces(ctx, hash(4)); len(got) != 0 {
		t.Errorf("Pieces of the deleted torrent = %v", got)
	}
	if _, err := s.ReadAt(ctx, hash(4), 2, make([]byte, 10), 0); !errors.Is(err, ErrNotFound) {
		t.Errorf("ReadAt of a deleted torrent's piece = %v, want ErrNotFound", err)
	}
	if got, _ := s.Pieces(ctx, hash(5)); !slices.Equal(got, []int{0, 1, 2, 3, 4}) {
		t.Errorf("the other torrent lost pieces: %v", got)
	}
	checkRead(t, s, hash(5), 3, pieceData(5, 3, 10000), 0, 10000)
	ts := s.Torrents()
	if len(ts) != 1 || ts[0].InfoHash != hash(5) || ts[0].Pieces != 5 || ts[0].Bytes < 50000 {
		t.Errorf("Torrents = %+v", ts)
	}
	if st := s.Stats(); st.Torrents != 1 || st.Pieces != 5 {
		t.Errorf("Stats = %+v", st)
	}
	if err := s.DeleteTorrent(ctx, hash(6)); err != nil {
		t.Errorf("DeleteTorrent of an unknown torrent = %v", err)
	}
	mustPut(t, s, hash(4), 1, pieceData(4, 1, 100)) // usable again
	checkRead(t, s, hash(4), 1, pieceData(4, 1, 100), 0, 100)
}

func testDeletePiece(t *testing.T, open func(int64) store) {
	s := open(0)
	ctx := context.Background()
	for p := range 3 {
		mustPut(t, s, hash(7), p, pieceData(7, p, 1000))
	}
	if err := s.DeletePiece(ctx, hash(7), 1); err != nil {
		t.Fatal(err)
	}
	if err := s.DeletePiece(ctx, hash(7), 9); err != nil {
		t.Errorf("DeletePiece of a piece not held = %v", err)
	}
	if got, _ := s.Pieces(ctx, hash(7)); !slices.Equal(got, []int{0, 2}) {
		t.Errorf("Pieces = %v, want [0 2]", got)
	}
}
