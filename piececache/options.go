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
	// the pieces' files, what Badger's index files and the piece
	// directories took when last measured. The directory passes MaxBytes
	// only between an eviction and the next: by the pieces being written
	// at that moment (one per concurrent Put) and Badger's growth since
	// the last measurement (its index holds tens of bytes a piece).
	MaxBytes int64

	// Tests only.
	valueLogFileSize int64            // 0 = defaultValueLogFileSize
	maxBatch         int              // 0 = defaultMaxBatch; 1 turns write batching off
	now              func() time.Time // clock for use stamps; nil = time.Now
}

const (
	// defaultValueLogFileSize bounds one value-log file. Pieces are not
	// in Badger (files.go), so its value log holds only info dictionaries
	// (the largest MaxInfoSize); its files are sparse until written.
	defaultValueLogFileSize = 64 << 20
)

// valueLogFileSizeOrDefault is the value-log file size: the default, or a
// test's smaller one.
func (o Options) valueLogFileSizeOrDefault() int64 {
	if o.valueLogFileSize > 0 {
		return o.valueLogFileSize
	}
	return defaultValueLogFileSize
}

// memTableSize is Badger's memtable size. A memtable holds only keys and
// small values (tens of bytes a piece): 4 MiB holds tens of thousands of
// pieces' entries. Its arena is allocated
// whole, so it is live heap: at NOTES.md's 16 MiB it was 21 MB of our RSS.
const memTableSize = 4 << 20

// badgerOptions are the settings measured in shared/NOTES.md: values over
// 1 KiB (info dictionaries) go to the value log, small memtables, no
// compression, no block cache, no conflict detection, no fsync per write (a
// cache may lose its last writes; files.go and the CRCs in value.go make
// sure it never serves a wrong byte).
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
