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
