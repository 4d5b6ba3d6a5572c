package fetcher

import (
	"errors"
	"fmt"

	"github.com/torrentfs/torrentfs/metainfo"
)

// BEP 9 message types.
const (
	metaRequest = 0
	metaData    = 1
	metaReject  = 2
)

// metadataPieceSize is BEP 9's piece size: every piece of the info
// dictionary is 16 KiB except the last.
const metadataPieceSize = 16 << 10

// MaxMetadataSize bounds the info dictionary ResolveMagnet accepts from
// peers (their metadata_size). 16 MiB holds the piece hashes of a 13 TiB
// torrent with 16 MiB pieces, or of 800 GiB with 1 MiB pieces.
const MaxMetadataSize = 16 << 20

// maxMetadataPieces bounds the piece index a message may name: a larger
// one cannot be a piece of an info dictionary we would accept.
const maxMetadataPieces = MaxMetadataSize / metadataPieceSize

// errBadMetadataMsg marks a ut_metadata message that is clearly malformed.
var errBadMetadataMsg = errors.New("fetcher: malformed ut_metadata message")

// metadataMsg is one BEP 9 message.
type metadataMsg struct {
	Type      int   // metaRequest, metaData, metaReject, or another value to ignore
	Piece     int   // 0 ≤ Piece < maxMetadataPieces
	TotalSize int64 // metaData only: the info dictionary's size
	Data      []byte
}

// parseMetadataMsg reads a ut_metadata payload: a bencoded dictionary,
// followed for data messages by the piece's raw bytes. Data aliases
// payload. It fails on a payload that is not a dictionary with integer
// msg_type and piece (piece within bounds), and on a data message without a
// positive total_size. Other message types are returned with their Type for
// the caller to ignore.
func parseMetadataMsg(payload []byte) (metadataMsg, error) {
	v, n, err := metainfo.DecodePrefix(payload)
	if err != nil {
		return metadataMsg{}, fmt.Errorf("%w: %w", errBadMetadataMsg, err)
	}
	d, ok := v.(map[string]any)
	if !ok {
		return metadataMsg{}, fmt.Errorf("%w: not a dictionary", errBadMetadataMsg)
	}
	typ, ok := d["msg_type"].(int64)
	if !ok {
		return metadataMsg{}, fmt.Errorf("%w: no integer msg_type", errBadMetadataMsg)
	}
	if typ < metaRequest || typ > metaReject {
		return metadataMsg{Type: -1}, nil // unknown: the caller ignores it
	}
	m := metadataMsg{Type: int(typ)}
	piece, ok := d["piece"].(int64)
	if !ok {
		return metadataMsg{}, fmt.Errorf("%w: no integer piece", errBadMetadataMsg)
	}
	if piece < 0 || piece >= maxMetadataPieces {
		return metadataMsg{}, fmt.Errorf("%w: piece %d out of range", errBadMetadataMsg, piece)
	}
	m.Piece = int(piece)
	if m.Type != metaData {
		return m, nil
	}
	size, ok := d["total_size"].(int64)
	if !ok || size <= 0 {
		return metadataMsg{}, fmt.Errorf("%w: data without a positive total_size", errBadMetadataMsg)
	}
	m.TotalSize = size
	m.Data = payload[n:]
	return m, nil
}

// appendMetadataMsg encodes m as a ut_metadata payload.
func appendMetadataMsg(dst []byte, m metadataMsg) []byte {
	d := map[string]any{"msg_type": int64(m.Type), "piece": int64(m.Piece)}
	if m.Type == metaData {
		d["total_size"] = m.TotalSize
	}
	b, err := metainfo.Encode(d)
	if err != nil {
		panic("fetcher: encoding a ut_metadata message: " + err.Error()) // integers only
	}
	dst = append(dst, b...)
	if m.Type == metaData {
		dst = append(dst, m.Data...)
	}
	return dst
}

// metadataPieces is how many BEP 9 pieces an info dictionary of size bytes has.
func metadataPieces(size int64) int {
	return int((size + metadataPieceSize - 1) / metadataPieceSize)
}

// metadataPieceLen is the length of piece i of an info dictionary of size bytes.
func metadataPieceLen(size int64, i int) int {
	return int(min(size-int64(i)*metadataPieceSize, metadataPieceSize))
}
