package piececache

import (
	"context"
	"testing"

	"github.com/torrentfs/torrentfs/internal/leakcheck"
)

// TestDiskBound checks the bound Options.MaxBytes documents, as du counts
// it (allocated blocks), after every Put of a long run of writes: the
// directory stays under MaxBytes plus one value-log file. Some old pieces stay hot, so value-log files die
// unevenly, as they do under real readers.
func TestDiskBound(t *testing.T) {
	defer leakcheck.Check(t)()
	const (
		limit     = 16 << 20
		vlog      = 4 << 20
		pieceSize = 256 << 10
		written   = 64 << 20
	)
	c, dir := openTest(t, Options{MaxBytes: limit, valueLogFileSize: vlog})
	bound := int64(limit + vlog)
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
		maxOther = max(maxOther, du-vlogBytes(t, dir))
	}
	t.Logf("MaxBytes %d MiB, value-log files %d MiB: max du %.1f MiB (limit + %.1f MiB), Badger's other files at most %.1f MiB",
		limit>>20, vlog>>20, float64(maxDU)/(1<<20), float64(maxDU-limit)/(1<<20), float64(maxOther)/(1<<20))
	for p := range 16 {
		if !c.Has(hash(1), p) {
			t.Errorf("hot piece %d evicted", p)
		}
	}
}

// vlogBytes is du of dir's value-log files only.
func vlogBytes(t *testing.T, dir string) int64 {
	t.Helper()
	var n int64
	entries, _ := osReadDir(dir)
	for _, e := range entries {
		if len(e) > 5 && e[len(e)-5:] == ".vlog" {
			n += allocated(dir + "/" + e)
		}
	}
	return n
}
