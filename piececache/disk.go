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
