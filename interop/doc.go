// Package interop tests torrentfs against BitTorrent software nobody on this
// project wrote: opentracker, libtorrent (python3-libtorrent), transmission,
// aria2 and mktorrent, all from Debian.
//
// The non-test files are the harness: helpers that start those programs on
// loopback addresses only and kill and wait for them in t.Cleanup. Every
// helper skips the test with a clear message when a tool is missing, unless
// the environment variable TORRENTFS_REQUIRE_INTEROP is set (CI sets it), in
// which case a missing tool fails the test.
//
// Facts the harness is built on (see ../docs and the team notes):
//   - Debian's opentracker only serves whitelisted info hashes and reads the
//     whitelist from inside its chroot (tracker.rootdir) a moment after it
//     starts, as user nobody: the chroot dir and list must be world-readable
//     and the list's path is relative to the chroot. It refuses to run as
//     root. It accepts event=stopped for any info hash (so that cannot probe
//     the whitelist), and its peer list includes the announcing peer itself.
//     It records the connection's source IP, ignoring the ip= parameter.
//   - libtorrent-based clients keep one peer per IP, so every seeder gets a
//     loopback address of its own (127.0.0.2, 127.0.0.3, ...).
//   - transmission-daemon takes about 13 s to start serving a new peer.
package interop
