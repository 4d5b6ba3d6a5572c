// Package peerwire implements the framing of the BitTorrent peer wire
// protocol: the handshake and the length-prefixed messages of BEP 3, the
// messages of the fast extension (BEP 6) and the envelope of extended
// messages (BEP 10). It also provides the bitfield type and the BEP 6
// allowed-fast set.
//
// The package does no I/O of its own beyond the reader and writer it is
// given, starts no goroutines and keeps no package-level state.
package peerwire

// BlockSize is the size of the blocks a client requests: 16 KiB.
const BlockSize = 16 << 10

// Protocol is the first 20 bytes of every handshake: the length byte 19
// followed by "BitTorrent protocol".
const Protocol = "\x13BitTorrent protocol"
