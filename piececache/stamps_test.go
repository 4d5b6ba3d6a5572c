package piececache

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/torrentfs/torrentfs/internal/leakcheck"
)

// fakeClock is a settable clock for use stamps.
type fakeClock struct {
	mu sync.Mutex // guards t
	t  time.Time
}

func (f *fakeClock) now() time.Time { f.mu.Lock(); defer f.mu.Unlock(); return f.t }
func (f *fakeClock) add(d time.Duration) {
	f.mu.Lock()
	f.t = f.t.Add(d)
	f.mu.Unlock()
}

// TestUseOrderSurvivesRestart: pieces read just before a restart are not
// the first evicted after it, though they were written first.
func TestUseOrderSurvivesRestart(t *testing.T) {
	defer leakcheck.Check(t)()
	dir := t.TempDir()
	clock := &fakeClock{t: time.Unix(1_700_000_000, 0)}
	opts := Options{now: clock.now, valueLogFileSize: 2 << 20}
	c, err := Open(dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	ih := hash(1)
	const n, size = 16, 1 << 20
	for p := range n {
		mustPut(t, c, ih, p, pieceData(1, p, size))
		clock.add(time.Second)
	}
	// Read the first four, in the reverse order: 3 is used longest ago.
	for p := 3; p >= 0; p-- {
		checkRead(t, c, ih, p, pieceData(1, p, size), 0, 100)
		clock.add(time.Second)
	}
	if err := c.Close(); err != nil { // persists the dirty stamps
		t.Fatal(err)
	}

	// Reopen with a limit that keeps about half: the pieces read last
	// (0-3) and the newest writes must stay; 4, 5, ... go first.
	opts.MaxBytes = 9*size + size/2
	c, err = Open(dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	mustPut(t, c, hash(2), 0, []byte("x")) // the start-up eviction ran before this
	for p := range 4 {
		if !c.Has(ih, p) {
			t.Errorf("piece %d, read just before the restart, was evicted", p)
		}
	}
	for p := 4; p < 8; p++ {
		if c.Has(ih, p) {
			t.Errorf("piece %d, least recently used before the restart, was kept", p)
		}
	}
	if !c.Has(ih, n-1) {
		t.Errorf("newest piece evicted")
	}
}

func TestDeleteTorrentGivesSpaceBack(t *testing.T) {
	defer leakcheck.Check(t)()
	c, dir := openTest(t, Options{valueLogFileSize: 2 << 20})
	ctx := context.Background()
	for p := range 64 { // 16 MiB
		mustPut(t, c, hash(1), p, pieceData(1, p, 256<<10))
	}
	mustPut(t, c, hash(2), 0, pieceData(2, 0, 256<<10))
	before, _ := diskUsage(t, dir)
	if err := c.DeleteTorrent(ctx, hash(1)); err != nil {
		t.Fatal(err)
	}
	after, _ := diskUsage(t, dir)
	t.Logf("on disk: %.1f MiB before DeleteTorrent, %.1f MiB after", float64(before)/(1<<20), float64(after)/(1<<20))
	if after > before/2 {
		t.Errorf("DeleteTorrent of 16 MiB left %d of %d bytes on disk", after, before)
	}
	checkRead(t, c, hash(2), 0, pieceData(2, 0, 256<<10), 0, 256<<10)
}

func TestTorrentInfo(t *testing.T) {
	defer leakcheck.Check(t)()
	c, dir := openTest(t, Options{})
	ctx := context.Background()
	if _, err := c.TorrentInfo(ctx, hash(1)); !errors.Is(err, ErrNotFound) {
		t.Fatalf("TorrentInfo before Put = %v, want ErrNotFound", err)
	}
	info := pieceData(9, 9, 5000)
	for range 2 {
		if err := c.PutTorrentInfo(ctx, hash(1), info); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.PutTorrentInfo(ctx, hash(1), nil); !errors.Is(err, ErrInvalid) {
		t.Errorf("PutTorrentInfo(nil) = %v, want ErrInvalid", err)
	}
	c.Close()
	c, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	got, err := c.TorrentInfo(ctx, hash(1))
	if err != nil || string(got) != string(info) {
		t.Fatalf("TorrentInfo after reopen = %d bytes, %v", len(got), err)
	}
	if st := c.Stats(); st.Bytes != 0 || st.Torrents != 0 {
		t.Errorf("info counted as pieces: %+v", st)
	}
	if err := c.DeleteTorrent(ctx, hash(1)); err != nil {
		t.Fatal(err)
	}
	if _, err := c.TorrentInfo(ctx, hash(1)); !errors.Is(err, ErrNotFound) {
		t.Errorf("TorrentInfo after DeleteTorrent = %v, want ErrNotFound", err)
	}
}
