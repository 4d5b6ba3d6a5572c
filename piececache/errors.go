package piececache

import (
	"errors"
	"fmt"
)

var (
	// ErrNotFound is returned by ReadAt when the piece is not held.
	ErrNotFound = errors.New("piececache: piece not found")

	// ErrCorrupt is wrapped by ReadAt when a stored piece fails its CRC
	// check or has a malformed header. The piece is forgotten before ReadAt
	// returns, so the caller can fetch it again.
	ErrCorrupt = errors.New("piececache: stored piece is corrupt")

	// ErrInUse is wrapped (by *InUseError) when Open finds the directory
	// locked by another live Cache, in this process or another.
	ErrInUse = errors.New("piececache: cache directory in use")

	// ErrVersion is wrapped (by *VersionError) when Open finds a cache
	// written in a format this build does not understand.
	ErrVersion = errors.New("piececache: unknown cache format version")

	// ErrDamaged is wrapped (by *DamagedError) when Open cannot read the
	// cache directory: damaged or foreign files. Wipe, then Open again.
	ErrDamaged = errors.New("piececache: cache directory is damaged")

	// ErrNotCache is wrapped when Open or Wipe refuse a directory that
	// holds files a cache does not create.
	ErrNotCache = errors.New("piececache: not a cache directory")

	// ErrDiskFull is wrapped by Put when the disk (or the user's quota) is
	// full.
	ErrDiskFull = errors.New("piececache: disk full")

	// ErrWriteFailed is wrapped by Put when the cache cannot write for any
	// other reason (read-only file system, I/O error, permissions).
	ErrWriteFailed = errors.New("piececache: cannot write to the cache")

	// ErrClosed is returned by calls made after Close.
	ErrClosed = errors.New("piececache: cache is closed")

	// ErrInvalid is wrapped when Put or ReadAt get arguments no piece can
	// have: a negative or too large index, empty or oversized data, a
	// negative offset.
	ErrInvalid = errors.New("piececache: invalid argument")
)

// InUseError reports a cache directory locked by another process (or by
// another Open in this one). errors.Is(err, ErrInUse) is true.
type InUseError struct {
	Dir string
	PID int // 0 if the owner's PID file could not be read
}

func (e *InUseError) Error() string {
	if e.PID == 0 {
		return fmt.Sprintf("piececache: cache directory %s is in use by another torrentfs process (PID unknown)", e.Dir)
	}
	return fmt.Sprintf("piececache: cache directory %s is in use by another torrentfs process (PID %d)", e.Dir, e.PID)
}

func (e *InUseError) Unwrap() error { return ErrInUse }

// VersionError reports a cache directory in a format version this build
// cannot read. errors.Is(err, ErrVersion) is true.
type VersionError struct {
	Dir       string
	Have      uint32 // the version found in the directory
	Want      uint32 // the version this build writes
	Malformed bool   // the version key exists but is not 4 bytes
}

func (e *VersionError) Error() string {
	if e.Malformed {
		return fmt.Sprintf("piececache: cache at %s has a malformed format version key, this build uses %d", e.Dir, e.Want)
	}
	return fmt.Sprintf("piececache: cache at %s has format version %d, this build uses %d", e.Dir, e.Have, e.Want)
}

func (e *VersionError) Unwrap() error { return ErrVersion }

// DamagedError reports a cache directory Open could not read.
// errors.Is(err, ErrDamaged) is true, and Err is Badger's error.
type DamagedError struct {
	Dir string
	Err error
}

func (e *DamagedError) Error() string {
	return fmt.Sprintf("piececache: cache directory %s is damaged or not a cache: %v", e.Dir, e.Err)
}

func (e *DamagedError) Unwrap() []error { return []error{ErrDamaged, e.Err} }
