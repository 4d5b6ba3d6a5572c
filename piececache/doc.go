// Package piececache stores verified BitTorrent pieces, keyed by info hash
// and piece index.
//
// Cache keeps them on disk, one file per piece, indexed in a Badger v4
// database (files.go); Memory keeps them in memory with the same semantics,
// for other packages' tests. Both only ever hold bytes that the caller
// already verified against the torrent's SHA-1 hashes, and Cache never
// serves a byte that changed on disk since: every piece file carries a
// CRC-32C per 64 KiB chunk, and ReadAt checks the chunks it returns (see
// value.go).
//
// On-disk layout of a Cache directory:
//
//	DIR/owner.pid          our directory lock (flock) and the owner's PID
//	DIR/pieces/SSSSSS/F…F  one verified piece per file (files.go, value.go)
//	DIR/index/*            Badger's files (MANIFEST, *.vlog, *.sst, *.mem, ...)
//
// (Badger has a directory of its own because it walks all of it at Open
// and every minute: with the pieces inside, Open of 100,000 pieces took
// 0.9 s instead of 0.35 s.) A cache of format 1 had Badger's files in DIR
// itself; Open refuses it with ErrVersion and Wipe clears it.
//
// Keys (see key.go):
//
//	0x00 "version"                      format version, uint32 big-endian
//	0x00 "gc"                           written and dropped to make Badger compact
//	0x00 "limit"                        MaxBytes of the last Open that set one (SavedLimit)
//	'p' + info hash (20) + piece (4 BE)  a held piece: its file's sequence number and its length
//	'a' + info hash (20) + piece (4 BE)  its last use, Unix seconds, uint32 BE (stamps.go)
//	'i' + info hash (20)                 the torrent's raw info dictionary (info.go)
//
// Has, Pieces and Stats answer from an in-memory index (index.go), rebuilt
// at Open from the index entries, so they never touch the disk; ReadAt
// finds the file there and reads it directly. Put writes the piece's file
// on its caller's goroutine; all Badger writes go through one goroutine
// (writer.go), which batches concurrent Puts' index entries into one
// transaction and, when Options.MaxBytes is set, evicts the least recently
// used pieces, unpinned first (pin.go), deleting their files (evict.go).
// Use order survives a restart to within a second (stamps.go).
//
// The disk bound: with MaxBytes set, the directory (as du counts it) stays
// within a few MiB of MaxBytes (see Options.MaxBytes). Writes stop with
// ErrDiskFull while the file system has less free space than a reserve
// (disk.go): Badger writes through mmap, and a full disk would otherwise
// kill the process with SIGBUS.
//
// A damaged directory makes Open fail with ErrDamaged; Wipe empties it
// (only files a cache creates; it refuses directories holding others).
package piececache
