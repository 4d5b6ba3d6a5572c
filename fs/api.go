package fs

import (
	"context"
	"errors"
	"log/slog"
	"syscall"
	"time"
)

// File is one file of a torrent as the mount shows it.
type File struct {
	// Path is the full path below the mount root; its first component is
	// the torrent's top-level entry (a folder, or a single file at the
	// root). Every component must be non-empty, not "." or "..", and
	// free of "/" and NUL.
	Path   []string
	Length int64 // bytes, >= 0
}

// Torrent is what a mount shows: a fixed list of files.
type Torrent interface {
	// Files lists every file. It is called once, by AddTorrent.
	Files() []File
	// NewReader opens file (an index into Files()). It is called once per
	// open file handle; the reader is closed when the handle is released
	// or the server shuts down.
	NewReader(file int) FileReader
}

// FileReader reads one file. ReadAt blocks until verified bytes exist or
// ctx ends, and returns io.EOF at the end of the file. Short reads are
// allowed: fs loops until a FUSE request is full. ReadAt may be called
// concurrently from several goroutines, and never after Close.
type FileReader interface {
	ReadAt(ctx context.Context, p []byte, off int64) (int, error)
	Close() error
}

// ModTimer may be implemented by a Torrent to give its files and folders
// an mtime (for example the torrent's creation date). Without it, the
// mount time is used. Either way the time never changes.
type ModTimer interface {
	ModTime() time.Time
}

// Errnoer may be implemented by an error (anywhere in the chain, found with
// errors.As) to choose the errno a failed read returns, for example
// syscall.ENOSPC. Returning 0 means "no preference" (the default mapping
// applies).
type Errnoer interface {
	Errno() syscall.Errno
}

// ReadyChecker may be implemented by a FileReader to say, without
// blocking, whether ReadAt(p[:n], off) would return at once (its bytes are
// already verified and present). Reads that are ready skip the bound on
// blocked reads (see Options.MaxBlockedReads), so data already present is
// never queued behind reads waiting for missing pieces. Without it, a read
// that has not finished within a short probe (20 ms) counts as blocked.
type ReadyChecker interface {
	Ready(off int64, n int) bool
}

// ErrUnmounted is the cause given to contexts of reads cancelled because
// the server is shutting down, and is returned for reads started after
// shutdown began. Such reads answer EIO.
var ErrUnmounted = errors.New("fs: server is unmounting")

// Options configure Mount. The zero value is usable.
type Options struct {
	// Logger receives diagnostics; nil discards them.
	Logger *slog.Logger
	// FsName is the "Filesystem" column of df and /proc/mounts; default
	// "torrentfs". The type is always "fuse.torrentfs".
	FsName string
	// Debug logs every FUSE request (go-fuse's debug output) to Logger at
	// debug level.
	Debug bool
	// MaxBackground is how many asynchronous (page-cache and readahead)
	// reads the kernel keeps in flight. Default 128; values are clamped to
	// [64, 256]. The kernel's default of 12 lets a few reads blocked on
	// missing pieces stall reads of data already present.
	MaxBackground int
	// MaxBlockedReads bounds how many reads may wait inside
	// FileReader.ReadAt for missing data at once; further such reads wait
	// for a slot. Reads of present data never take a slot (see
	// ReadyChecker and the package documentation). Default and maximum
	// 3/4 of MaxBackground. Reads waiting for a slot still count against
	// the kernel's MaxBackground, so keep MaxBackground large.
	MaxBlockedReads int
	// ReadAheadKB is written to the mount's
	// /sys/class/bdi/<major:minor>/read_ahead_kb after mounting (best
	// effort) so sequential reads arrive in larger requests. Default
	// 1024; negative leaves the kernel's value.
	ReadAheadKB int
	// AttrTimeout is how long the kernel caches names and attributes of the
	// static tree. Default 1 hour.
	AttrTimeout time.Duration
	// AllowOther lets users other than the mounting one see the files.
	// For non-root users it needs user_allow_other in /etc/fuse.conf.
	AllowOther bool
}
