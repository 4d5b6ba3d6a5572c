// Package fs shows torrents as a read-only FUSE file system (go-fuse v2).
//
// It knows nothing of peers or caches: a [Torrent] lists its files and hands
// out one [FileReader] per open file handle. Several torrents may share one
// mount; each owns one top-level name below the mount root (a folder for a
// multi-file torrent, the file itself for a single-file torrent).
//
// # Reads
//
// File contents use the kernel page cache (FOPEN_KEEP_CACHE), so mmap works.
// In that mode the kernel turns a short reply into zeros, so every FUSE read
// is filled completely up to the end of the file by calling ReadAt in a loop;
// if ReadAt fails, or ends early, the read fails with an errno and no data.
//
// Reads of data that is already present must never queue behind reads that
// wait for missing pieces. The kernel keeps at most MaxBackground page-cache
// reads in flight (default 128 here, 12 in the kernel), and at most
// MaxBlockedReads (default 3/4 of it) may wait inside ReadAt at once; more
// wait for a slot. A read takes a slot only if it may block: a FileReader
// implementing [ReadyChecker] says so, otherwise a read that has not
// finished after a 20 ms probe is cancelled and continued under a slot. So
// FileReader.ReadAt must return promptly when its ctx ends, without
// cancelling the shared fetch other readers wait for.
//
// Never touch the mount through mmap from the process that serves it: a page
// fault there can deadlock with the Go runtime's stop-the-world (syscalls
// such as read(2) are fine). Tests do it in a child process.
//
// # Errors
//
// This package is the only place where errors become errno values:
//
//   - an error that has, anywhere in its chain (errors.As), a value
//     implementing [Errnoer] is returned as that errno;
//   - a read failed because the server is shutting down gives EIO;
//   - context.Canceled or context.DeadlineExceeded (the kernel interrupted
//     the request) gives EINTR;
//   - any other error gives EIO.
//
// # Shutdown
//
// [Server.Unmount] first fails every read in flight (their contexts are
// cancelled with [ErrUnmounted], and they answer EIO), then unmounts, and
// falls back to a lazy unmount and an abort of the FUSE connection if the
// mount stays busy. An unmount from outside (umount DIR) also ends the server:
// [Server.Wait] returns and every FileReader still open is closed.
package fs
