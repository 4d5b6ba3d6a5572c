package piececache

import (
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/dgraph-io/badger/v4"
	"github.com/dgraph-io/badger/v4/options"
)

// Options configure Open.
type Options struct {
	// Logger receives Badger's warnings and errors and our own notes
	// (corrupt pieces, eviction). Nil discards them.
	Logger *slog.Logger

	// MaxBytes bounds Stats().Bytes: once a write takes it past MaxBytes,
	// the least recently used pieces (unpinned first, see Pin) are evicted
	// down to 90% of MaxBytes. 0 means unlimited.
	//
	// The limit is on disk usage as du counts it: eviction counts, besides
	// the live pieces, what the directory took beyond them when last
	// measured (dead values value-log GC has not reclaimed yet, Badger's
	// own files). Stated bound: the directory stays under MaxBytes plus
	// one value-log file (MaxBytes/16, within 80 to 256 MiB); it passes
	// MaxBytes only between an eviction and the next, by up to one write
	// batch. Measured (bench/cachebench): 4 GiB written under a 1 GiB
	// limit peaked at 1 GiB + 2 MiB.
	MaxBytes int64

	// Tests only.
	valueLogFileSize int64            // 0 = defaultValueLogFileSize
	maxBatch         int              // 0 = defaultMaxBatch; 1 turns write batching off
	now              func() time.Time // clock for use stamps; nil = time.Now
	trimEvery        int64            // 0 = defaultTrimEvery; -1 never trims (trim.go)
}

const (
	// defaultValueLogFileSize bounds one value-log file. Value-log GC
	// reclaims whole files, so smaller files reclaim space in finer steps;
	// a file must still hold the largest piece, and Badger's file count
	// grows as they shrink.
	defaultValueLogFileSize = 256 << 20
	minValueLogFileSize     = MaxPieceSize + 16<<20
)

// valueLogFileSizeOrDefault is a sixteenth of MaxBytes, within [minValueLogFileSize,
// defaultValueLogFileSize], so that garbage left between GC runs stays a
// modest share of a small cache.
func (o Options) valueLogFileSizeOrDefault() int64 {
	if o.valueLogFileSize > 0 {
		return o.valueLogFileSize
	}
	if o.MaxBytes <= 0 {
		return defaultValueLogFileSize
	}
	return min(max(o.MaxBytes/16, minValueLogFileSize), defaultValueLogFileSize)
}

// memTableSize is Badger's memtable size. Values live in the value log, so
// a memtable holds only keys and value pointers (tens of bytes an entry):
// 4 MiB holds tens of thousands of pieces' entries. Its arena is allocated
// whole, so it is live heap: at NOTES.md's 16 MiB it was 21 MB of our RSS.
const memTableSize = 4 << 20

// badgerOptions are the settings measured in shared/NOTES.md: pieces go to
// the value log, small memtables, no compression, no block cache, no
// conflict detection, no fsync per write (a cache may lose its last writes;
// the CRCs in value.go make sure it never serves a wrong byte).
func badgerOptions(dir string, opts Options, log *slog.Logger) badger.Options {
	vlogSize := opts.valueLogFileSizeOrDefault()
	return badger.DefaultOptions(dir).
		WithValueThreshold(1 << 10).
		WithMemTableSize(memTableSize).
		WithNumMemtables(2).
		WithCompression(options.None).
		WithBlockCacheSize(0).
		WithIndexCacheSize(0).
		WithDetectConflicts(false).
		WithSyncWrites(false).
		WithNumCompactors(2).
		WithMetricsEnabled(false).
		WithValueLogFileSize(vlogSize).
		WithLogger(badgerLogger{log}) // not WithLoggingLevel: it replaces the logger
}

// badgerLogger routes Badger's warnings and errors to slog and drops its
// info and debug chatter.
type badgerLogger struct{ l *slog.Logger }

func (b badgerLogger) Errorf(f string, a ...any) {
	b.l.Error(strings.TrimSpace(fmt.Sprintf(f, a...)), "component", "badger")
}

func (b badgerLogger) Warningf(f string, a ...any) {
	b.l.Warn(strings.TrimSpace(fmt.Sprintf(f, a...)), "component", "badger")
}

func (badgerLogger) Infof(string, ...any)  {}
func (badgerLogger) Debugf(string, ...any) {}
