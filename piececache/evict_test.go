package piececache

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"

	"github.com/torrentfs/torrentfs/internal/leakcheck"
)

// diskUsage returns what du would report for dir (allocated blocks) and the
// sum of the files' apparent sizes.
func diskUsage(t *testing.T, dir string) (allocated, apparent int64) {
	t.Helper()
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if errors.Is(err, fs.ErrNotExist) {
			return nil // deleted by the writer meanwhile
		}
		if err != nil {
			return err
		}
		fi, err := d.Info()
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		if err != nil {
			return err
		}
		apparent += fi.Size()
		if st, ok := fi.Sys().(*syscall.Stat_t); ok {
			allocated += st.Blocks * 512
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return allocated, apparent
}

func TestEvictionBoundsDisk(t *testing.T) {
	defer leakcheck.Check(t)()
	const (
		maxBytes  = 2 << 20
		pieceSize = 256 << 10
		written   = 24 << 20
	)
	dir := t.TempDir()
	c, err := Open(dir, Options{MaxBytes: maxBytes, valueLogFileSize: 2 << 20})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	ih := hash(1)
	hot := pieceData(1, 0, pieceSize)
	mustPut(t, c, ih, 0, hot)
	maxSeen := int64(0)
	for p := 1; p < written/pieceSize; p++ {
		mustPut(t, c, ih, p, pieceData(1, p, pieceSize))
		// Piece 0 is read all the time, so it is never the least recently used.
		checkRead(t, c, ih, 0, hot, int64(p%4)*ChunkSize, 1000)
		st := c.Stats()
		// The writer evicts right after a batch, before it takes the next
		// Put: at most one piece over the limit is ever visible.
		if st.Bytes > maxBytes+pieceSize+4096 {
			t.Fatalf("after piece %d: Stats.Bytes = %d, limit %d", p, st.Bytes, maxBytes)
		}
		maxSeen = max(maxSeen, st.Bytes)
	}
	alloc, apparent := diskUsage(t, dir)
	st := c.Stats()
	t.Logf("wrote %d MiB with MaxBytes %d MiB: Stats %+v (max %d), on disk %.1f MiB allocated, %.1f MiB apparent",
		written>>20, maxBytes>>20, st, maxSeen, float64(alloc)/(1<<20), float64(apparent)/(1<<20))

	if !c.Has(ih, 0) {
		t.Errorf("the piece read all along was evicted")
	}
	if c.Has(ih, 1) || c.Has(ih, written/pieceSize/2) {
		t.Errorf("old, unread pieces were not evicted")
	}
	last := written/pieceSize - 1
	checkRead(t, c, ih, last, pieceData(1, last, pieceSize), 0, pieceSize)
	// Eviction aims below the limit by the directory's measured overhead,
	// but never keeps less than half the limit in live pieces.
	if got, _ := c.Pieces(ctx, ih); len(got) != st.Pieces || len(got) < maxBytes/2/pieceSize {
		t.Errorf("Pieces holds %d pieces, Stats says %d; want at least %d (half the limit)", len(got), st.Pieces, maxBytes/2/pieceSize)
	}
	// Besides live pieces: garbage not yet reclaimed (GC rewrites a value-log
	// file once half of it is dead), the 2 MiB value-log file being written
	// and the memtables (mmapped, sparse; they hold only keys and value
	// pointers). Without eviction this would be over 24 MiB.
	if alloc > 3*maxBytes {
		t.Errorf("cache directory uses %d bytes on disk, want at most %d", alloc, 3*maxBytes)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	alloc, apparent = diskUsage(t, dir)
	t.Logf("after Close: %.1f MiB allocated, %.1f MiB apparent", float64(alloc)/(1<<20), float64(apparent)/(1<<20))
	if apparent > 3*maxBytes {
		t.Errorf("closed cache directory is %d bytes, want at most %d", apparent, 3*maxBytes)
	}

	// The pieces kept survive a reopen, and a smaller limit applies at once.
	c, err = Open(dir, Options{MaxBytes: 1 << 20, valueLogFileSize: 2 << 20})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	checkRead(t, c, ih, last, pieceData(1, last, pieceSize), 0, pieceSize)
	mustPut(t, c, ih, last+1, pieceData(1, last+1, pieceSize)) // the writer has run its start-up eviction by now
	if st := c.Stats(); st.Bytes > 1<<20+pieceSize+4096 {
		t.Errorf("after reopening with MaxBytes 1 MiB: Stats %+v", st)
	}
}

// TestOverwriteReclaimed: with no MaxBytes, overwriting the same pieces
// again and again must not grow the directory without bound either.
func TestOverwriteReclaimed(t *testing.T) {
	defer leakcheck.Check(t)()
	dir := t.TempDir()
	c, err := Open(dir, Options{valueLogFileSize: 2 << 20})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	const pieceSize = 256 << 10
	for i := range 100 { // 25 MiB written into 4 pieces
		mustPut(t, c, hash(1), i%4, pieceData(1, i, pieceSize))
	}
	for p := range 4 {
		checkRead(t, c, hash(1), p, pieceData(1, 96+p, pieceSize), 0, pieceSize)
	}
	if st := c.Stats(); st.Pieces != 4 {
		t.Errorf("Stats = %+v, want 4 pieces", st)
	}
	alloc, _ := diskUsage(t, dir)
	t.Logf("25 MiB written over 1 MiB of pieces: %.1f MiB allocated", float64(alloc)/(1<<20))
	if alloc > 6<<20 {
		t.Errorf("directory holds %d bytes for 1 MiB of live pieces", alloc)
	}
}

// TestEvictionUnderConcurrentReads: while writers push the cache over its
// limit, readers get either the right bytes or ErrNotFound, never anything
// else.
func TestEvictionUnderConcurrentReads(t *testing.T) {
	defer leakcheck.Check(t)()
	c, _ := openTest(t, Options{MaxBytes: 1 << 20, valueLogFileSize: 1 << 20})
	const pieceSize, pieces = 64<<10 + 3, 120
	ctx := context.Background()
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	var written atomic.Int64
	for w := range 3 {
		wg.Go(func() {
			for p := w; p < pieces; p += 3 {
				if err := c.Put(ctx, hash(1), p, pieceData(1, p, pieceSize)); err != nil {
					errs <- err
					return
				}
				written.Add(1)
			}
		})
	}
	for r := range 3 {
		wg.Go(func() {
			buf := make([]byte, 32<<10)
			for i := 0; written.Load() < pieces; i++ {
				p := (i*13 + r) % pieces
				off := int64(i%3) * (pieceSize / 3)
				n, err := c.ReadAt(ctx, hash(1), p, buf, off)
				if errors.Is(err, ErrNotFound) {
					continue
				}
				if err == io.EOF && off+int64(n) == pieceSize {
					err = nil
				}
				if err != nil || !bytes.Equal(buf[:n], pieceData(1, p, pieceSize)[off:off+int64(n)]) {
					errs <- fmt.Errorf("piece %d at %d: %d, %v", p, off, n, err)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if st := c.Stats(); st.Bytes > 1<<20+pieceSize+4096 || st.Pieces == 0 {
		t.Errorf("Stats = %+v", st)
	}
}
