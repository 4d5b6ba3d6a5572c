package piececache

import (
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"github.com/dgraph-io/badger/v4"
)

// Eviction runs on the writer goroutine, after each batch of writes (and
// once at start-up), when Stats().Bytes plus the overhead exceeds
// Options.MaxBytes. It drops the least recently used pieces until Bytes is
// at most 90% of MaxBytes: their index entries go in one transaction, then
// their files, which gives the space back at once.
//
// Badger's own value log holds only info dictionaries now; DeleteTorrent
// reclaims their space (reclaim below). What works for that
// (shared/NOTES.md): write a marker key, DropPrefix it, which flushes the
// memtables and compacts, then RunValueLogGC until it finds nothing to
// rewrite. DropPrefix fails concurrent writes with ErrBlockedWrites, which
// is why only the writer goroutine may run it.

// gcMarker is the key written and dropped to make Badger compact.
var gcMarker = []byte{metaPrefix, 'g', 'c'}

// maxGCRounds bounds one reclamation; each round rewrites one value-log
// file.
const maxGCRounds = 64

// maybeEvict evicts down to the low-water mark if the cache is over its
// limit. The limit is on disk usage as du counts it, so eviction counts,
// besides the live pieces' files, the overhead measured on disk after the
// last eviction: Badger's files and the piece directories.
func (c *Cache) maybeEvict() {
	start := time.Now()
	evicted, freed := c.evict()
	if evicted > 0 {
		c.measureOverhead()
		c.log.Debug("piececache: evicted least recently used pieces",
			"pieces", evicted, "bytes", freed, "overhead", c.overhead, "took", time.Since(start))
	}
}

// measureOverhead sets c.overhead to what the directory takes on disk
// beyond the live pieces' files.
func (c *Cache) measureOverhead() {
	// The directories themselves, for the piece files' directories.
	c.overhead = dirBytes(c.dir) + dirBytes(filepath.Join(c.dir, indexDir)) + dirBytes(filepath.Join(c.dir, piecesDir))
}

// evict deletes least recently used pieces, if Bytes plus the measured
// overhead is over MaxBytes, until Bytes is at most 90% of MaxBytes less
// the overhead (but not below half of MaxBytes: an overhead GC cannot
// reclaim is no reason to empty the cache). Pinned pieces go last (see
// pin.go).
func (c *Cache) evict() (pieces int, freed int64) {
	limit := c.opts.MaxBytes
	if limit <= 0 {
		return 0, 0
	}
	c.mu.Lock()
	if c.idx.bytes+c.overhead <= limit {
		c.mu.Unlock()
		return 0, 0
	}
	victims, freed := c.idx.evictTo(max(lowWater(limit)-c.overhead, limit/2))
	c.mu.Unlock()
	// From here on Has and ReadAt no longer see the victims. Their files go
	// even if their index entries could not: the next Open forgets
	// entries without files.
	ids := make([]pieceID, len(victims))
	for i, v := range victims {
		ids[i] = v.id
	}
	if err := c.deletePieces(ids); err != nil {
		c.log.Warn("piececache: evicting pieces", "pieces", len(victims), "err", err)
	}
	for _, v := range victims {
		c.removePieceFile(v.seq)
	}
	return len(victims), freed
}

// lowWater is what eviction brings Bytes down to: 90% of the limit.
func lowWater(limit int64) int64 { return limit - limit/10 }

// dirBytes is what du counts for dir's entries, not descending into
// directories (allocated blocks); Badger keeps a few dozen files at most in
// its directory, so this is cheap.
func dirBytes(dir string) int64 {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return 0
	}
	var n int64
	for _, e := range entries {
		if fi, err := e.Info(); err == nil {
			if st, ok := fi.Sys().(*syscall.Stat_t); ok {
				n += st.Blocks * 512
			}
		}
	}
	return n
}

func (c *Cache) valueLogFileSize() int64 { return c.opts.valueLogFileSizeOrDefault() }

// deletePieces deletes ids (their pieces and use stamps) and the extra
// keys from Badger in as few transactions as it allows.
func (c *Cache) deletePieces(ids []pieceID, extra ...[]byte) error {
	keys := extra
	for _, id := range ids {
		keys = append(keys, pieceKey(id.ih, id.piece), stampKey(id.ih, id.piece))
	}
	txn := newSplitTxn(c.db)
	defer txn.discard()
	for _, key := range keys {
		if err := txn.delete(key); err != nil {
			return err
		}
	}
	return txn.commit()
}

// reclaim makes Badger give back the disk space of deleted values and
// returns how many value-log files it rewrote: those with at least ratio
// of their bytes dead.
func (c *Cache) reclaim(ratio float64) int {
	if err := c.db.Update(func(txn *badger.Txn) error { return txn.Set(gcMarker, []byte{1}) }); err != nil {
		c.log.Warn("piececache: value-log GC marker", "err", err)
		return 0
	}
	if err := c.db.DropPrefix(gcMarker); err != nil {
		c.log.Warn("piececache: value-log GC compaction", "err", err)
		return 0
	}
	rounds := 0
	for ; rounds < maxGCRounds; rounds++ {
		select {
		case <-c.quit:
			return rounds
		default:
		}
		err := c.db.RunValueLogGC(ratio)
		if errors.Is(err, badger.ErrNoRewrite) {
			break
		}
		if err != nil {
			c.log.Warn("piececache: value-log GC", "err", err)
			break
		}
	}
	return rounds
}
