// Package fetcher is torrentfs's BitTorrent client: it finds peers through
// trackers, speaks the peer wire protocol, picks the pieces readers need
// first, checks every piece against its SHA-1 before anything else sees it,
// stores verified pieces, and serves them to other peers.
//
// Concurrency: a Client owns its goroutines (accept loop, hash workers, and
// per torrent an announce loop, a maintenance loop, and per peer a read loop
// and a write loop). Client.Close stops them all and waits for them.
//
// Each Torrent has one mutex, Torrent.mu, that guards the torrent's piece
// state, its wants and the protocol state of each of its peers. It is never
// held across network or disk I/O: peers' outgoing messages are queued under
// the peer's own outMu (always taken after Torrent.mu, never before) and
// written by the peer's write loop.
package fetcher
