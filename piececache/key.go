package piececache

import (
	"encoding/binary"
	"math"
)

// FormatVersion is the on-disk format this build reads and writes: the key
// layout below, the piece files in files.go and their layout in value.go.
// Version 1 kept the pieces themselves in Badger.
const FormatVersion uint32 = 2

const (
	metaPrefix  = 0x00
	piecePrefix = 'p'
	stampPrefix = 'a' // + info hash + piece: the piece's last use, uint32 BE Unix seconds
	infoPrefix  = 'i' // + info hash: the torrent's raw info dictionary
	keyLen      = 1 + 20 + 4
)

// versionKey holds FormatVersion as 4 big-endian bytes.
var versionKey = []byte{metaPrefix, 'v', 'e', 'r', 's', 'i', 'o', 'n'}

// pieceKey is piecePrefix, the info hash and the big-endian piece index, so
// one torrent's pieces are a contiguous prefix range in index order.
func pieceKey(ih [20]byte, piece uint32) []byte {
	k := make([]byte, keyLen)
	k[0] = piecePrefix
	copy(k[1:21], ih[:])
	binary.BigEndian.PutUint32(k[21:], piece)
	return k
}

// stampKey holds the coarse time of a piece's last use (see stamps.go).
func stampKey(ih [20]byte, piece uint32) []byte {
	k := pieceKey(ih, piece)
	k[0] = stampPrefix
	return k
}

// infoKey holds a torrent's info dictionary (see info.go).
func infoKey(ih [20]byte) []byte {
	k := make([]byte, 21)
	k[0] = infoPrefix
	copy(k[1:], ih[:])
	return k
}

// torrentPrefix is the key prefix of every piece of ih.
func torrentPrefix(ih [20]byte) []byte {
	k := make([]byte, 21)
	k[0] = piecePrefix
	copy(k[1:], ih[:])
	return k
}

// parsePieceKey is the inverse of pieceKey; ok is false for any other key.
func parsePieceKey(k []byte) (ih [20]byte, piece uint32, ok bool) {
	return parseKey(k, piecePrefix)
}

// parseKey parses a piece or stamp key with the given prefix.
func parseKey(k []byte, prefix byte) (ih [20]byte, piece uint32, ok bool) {
	if len(k) != keyLen || k[0] != prefix {
		return ih, 0, false
	}
	copy(ih[:], k[1:21])
	return ih, binary.BigEndian.Uint32(k[21:]), true
}

// A piece key's value names the piece's file: its sequence number (uint64
// BE) and the piece's length (uint32 BE).
const pieceValueLen = 8 + 4

func encodePieceValue(seq uint64, plen int) []byte {
	v := make([]byte, pieceValueLen)
	binary.BigEndian.PutUint64(v, seq)
	binary.BigEndian.PutUint32(v[8:], uint32(plen))
	return v
}

// decodePieceValue is the inverse of encodePieceValue; ok is false for a
// malformed value.
func decodePieceValue(v []byte) (seq uint64, plen int, ok bool) {
	if len(v) != pieceValueLen {
		return 0, 0, false
	}
	plen = int(binary.BigEndian.Uint32(v[8:]))
	if plen == 0 || plen > MaxPieceSize {
		return 0, 0, false
	}
	return binary.BigEndian.Uint64(v), plen, true
}

// validPiece reports whether piece can be a key's piece index.
func validPiece(piece int) bool {
	return piece >= 0 && uint64(piece) <= math.MaxUint32
}
