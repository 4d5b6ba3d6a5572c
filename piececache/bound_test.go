package piececache

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/torrentfs/torrentfs/internal/leakcheck"
)

// TestDiskBound checks the bound Options.MaxBytes documents, as du counts
// it (allocated blocks, directories included), after every Put of a long
// run of writes: the directory stays within a few MiB of MaxBytes (Badger's
// index files). Some old pieces stay hot, as they do under real readers.
func TestDiskBound(t *testing.T) {
	defer leakcheck.Check(t)()
	const (
		limit     = 16 << 20
		slack     = 4 << 20
		pieceSize = 256 << 10
		written   = 64 << 20
	)
	c, dir := openTest(t, Options{MaxBytes: limit})
	bound := int64(limit + slack)
	ctx := context.Background()
	buf := make([]byte, 1000)
	var maxDU, maxOther int64
	for p := 0; p < written/pieceSize; p++ {
		mustPut(t, c, hash(1), p, pieceData(1, p, pieceSize))
		c.ReadAt(ctx, hash(1), p%16, buf, 0) // pieces 0-15 stay hot
		du, _ := diskUsage(t, dir)
		if du > bound {
			t.Fatalf("after %d MiB written: du %d MiB, bound %d MiB", (p+1)*pieceSize>>20, du>>20, bound>>20)
		}
		maxDU = max(maxDU, du)
		pieces, _ := diskUsage(t, filepath.Join(dir, piecesDir))
		maxOther = max(maxOther, du-pieces)
	}
	t.Logf("MaxBytes %d MiB: max du %.2f MiB (limit + %.2f MiB), Badger's files at most %.2f MiB",
		limit>>20, float64(maxDU)/(1<<20), float64(maxDU-limit)/(1<<20), float64(maxOther)/(1<<20))
	for p := range 16 {
		if !c.Has(hash(1), p) {
			t.Errorf("hot piece %d evicted", p)
		}
	}
}
