package piececache

import (
	"errors"
	"fmt"
	"syscall"
	"time"
)

// When a write fails (disk full, read-only file system, I/O error), Put
// returns an error wrapping ErrDiskFull or ErrWriteFailed, and for
// failFastFor afterwards later Puts fail at once with the same error,
// without encoding or queueing anything: the fetcher keeps pieces in
// memory meanwhile. After that one Put is let through as a probe; if it
// commits, the cache writes normally again (the user freed space). Reads
// of stored pieces never depend on this.

// Piece files are written with write(2), which fails cleanly with ENOSPC.
// Badger, though, writes its value log and memtables through mmap of files
// it extends with ftruncate, which allocates no blocks: on a full file
// system the first store to an unallocated page kills the process with
// SIGBUS (measured on a full tmpfs). So Put never lets the disk fill: it
// asks statfs for the free space and refuses the piece with ErrDiskFull
// unless a reserve for Badger remains besides the piece itself. Another
// program filling the disk between the check and Badger's write can still
// crash us; nothing short of preallocation, which Badger does not offer,
// prevents that.

// spaceReserve is the free space Put leaves untouched: one value-log file,
// plus room for Badger's memtable logs and the tables flushed from them.
func (c *Cache) spaceReserve() int64 { return c.valueLogFileSize() + 32<<20 }

// checkSpace returns an error wrapping ErrDiskFull if writing n more bytes
// would eat into the reserve.
func (c *Cache) checkSpace(n int64) error {
	var st syscall.Statfs_t
	if err := syscall.Statfs(c.dir, &st); err != nil {
		return nil // cannot tell; let Badger try
	}
	free := int64(st.Bavail) * int64(st.Bsize)
	if need := n + c.spaceReserve(); free < need {
		return fmt.Errorf("%w: %d MiB free in %s, the cache keeps %d MiB free so that its index never meets a full disk",
			ErrDiskFull, free>>20, c.dir, need>>20)
	}
	return nil
}

// failFastFor is how long Puts fail at once after a write error.
const failFastFor = 10 * time.Second

// writeFailure is the last write error and when it happened.
type writeFailure struct {
	err error
	at  time.Time
}

// noteWrite records the outcome of a write on the writer goroutine: nil
// clears a failure, an error is classified (disk full or not), remembered
// and returned.
func (c *Cache) noteWrite(err error) error {
	if err == nil {
		if c.failure.Load() != nil {
			c.failure.Store(nil)
			c.log.Info("piececache: writes succeed again")
		}
		return nil
	}
	err = classifyWriteError(err)
	if c.failure.Load() == nil {
		c.log.Warn("piececache: cannot write; pieces will be kept in memory only", "dir", c.dir, "err", err)
	}
	c.failure.Store(&writeFailure{err: err, at: time.Now()})
	return err
}

// recentFailure returns the last write error if it is recent enough that
// Put should fail fast.
func (c *Cache) recentFailure() error {
	f := c.failure.Load()
	if f == nil || time.Since(f.at) >= failFastFor {
		return nil
	}
	return f.err
}

// classifyWriteError wraps err in ErrDiskFull or ErrWriteFailed.
func classifyWriteError(err error) error {
	switch {
	case errors.Is(err, ErrDiskFull), errors.Is(err, ErrWriteFailed):
		return err
	case errors.Is(err, syscall.ENOSPC), errors.Is(err, syscall.EDQUOT):
		return fmt.Errorf("%w: %w", ErrDiskFull, err)
	default:
		return fmt.Errorf("%w: %w", ErrWriteFailed, err)
	}
}
