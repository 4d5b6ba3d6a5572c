package piececache

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"io"
	"sync"
)

// Value layout (format byte 1):
//
//	[0]      valueFormat
//	[1:5]    piece length L, uint32 big-endian
//	[5:5+4n] CRC-32C (Castagnoli) of each ChunkSize chunk of the piece,
//	         n = ceil(L / ChunkSize), each uint32 big-endian
//	[...]    the L piece bytes
//
// A torn write or bit rot changes a chunk without its CRC (or breaks the
// lengths), so decoding never yields bytes that differ from what Put stored.
const (
	valueFormat = 1
	// ChunkSize is the span covered by one CRC: ReadAt verifies whole
	// chunks, so it reads at most ChunkSize-1 extra bytes on each side.
	ChunkSize = 64 << 10
	// MaxPieceSize is the largest piece Put accepts.
	MaxPieceSize = 64 << 20

	valueFixedHeader = 1 + 4
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

func numChunks(n int) int { return (n + ChunkSize - 1) / ChunkSize }

// encodeValue returns a new buffer holding data in the value layout.
func encodeValue(data []byte) []byte { return encodeValueInto(nil, data) }

// encodeValueInto writes data in the value layout into dst's storage if it
// is large enough, else into a new buffer, and returns the value.
func encodeValueInto(dst, data []byte) []byte {
	nc := numChunks(len(data))
	hdr := valueFixedHeader + 4*nc
	var v []byte
	if cap(dst) >= hdr+len(data) {
		v = dst[:hdr+len(data)]
	} else {
		v = make([]byte, hdr+len(data))
	}
	v[0] = valueFormat
	binary.BigEndian.PutUint32(v[1:5], uint32(len(data)))
	copy(v[hdr:], data)
	for c := range nc {
		chunk := v[hdr+c*ChunkSize : hdr+min((c+1)*ChunkSize, len(data))]
		binary.BigEndian.PutUint32(v[valueFixedHeader+4*c:], crc32.Checksum(chunk, castagnoli))
	}
	return v
}

// decodeHeader checks v's header and returns the piece length, the CRCs and
// the piece bytes. It does not check the CRCs.
func decodeHeader(v []byte) (crcs, data []byte, err error) {
	if len(v) < valueFixedHeader {
		return nil, nil, fmt.Errorf("value of %d bytes is shorter than its header: %w", len(v), ErrCorrupt)
	}
	if v[0] != valueFormat {
		return nil, nil, fmt.Errorf("value format byte %d, want %d: %w", v[0], valueFormat, ErrCorrupt)
	}
	l := binary.BigEndian.Uint32(v[1:5])
	if l == 0 || l > MaxPieceSize {
		return nil, nil, fmt.Errorf("value claims a piece of %d bytes: %w", l, ErrCorrupt)
	}
	hdr := valueFixedHeader + 4*numChunks(int(l))
	if len(v) != hdr+int(l) {
		return nil, nil, fmt.Errorf("value of %d bytes, header says %d: %w", len(v), hdr+int(l), ErrCorrupt)
	}
	return v[valueFixedHeader:hdr], v[hdr:], nil
}

// pieceRange applies io.ReaderAt semantics to a piece of size bytes: it
// returns how many bytes a read of plen at off yields, and io.EOF if that is
// fewer than plen (including off at or past the end).
func pieceRange(size int, plen int, off int64) (int, error) {
	if off < 0 {
		return 0, fmt.Errorf("piececache: negative offset %d: %w", off, ErrInvalid)
	}
	if off >= int64(size) {
		return 0, io.EOF
	}
	n := min(int64(plen), int64(size)-off)
	if int(n) < plen {
		return int(n), io.EOF
	}
	return int(n), nil
}

// readValue copies the piece bytes [off, off+len(p)) of the encoded value v
// into p, after checking the CRC of every chunk it touches. It has
// io.ReaderAt semantics at the piece's end. Errors wrap ErrCorrupt, or are
// io.EOF or wrap ErrInvalid.
func readValue(v []byte, p []byte, off int64) (int, error) {
	crcs, data, err := decodeHeader(v)
	if err != nil {
		return 0, err
	}
	n, rerr := pieceRange(len(data), len(p), off)
	if n == 0 {
		return 0, rerr
	}
	first, last := int(off/ChunkSize), int((off+int64(n)-1)/ChunkSize)
	for c := first; c <= last; c++ {
		chunk := data[c*ChunkSize : min((c+1)*ChunkSize, len(data))]
		want := binary.BigEndian.Uint32(crcs[4*c:])
		if got := crc32.Checksum(chunk, castagnoli); got != want {
			return 0, fmt.Errorf("chunk %d (bytes %d-%d) has CRC-32C %08x, stored %08x: %w",
				c, c*ChunkSize, c*ChunkSize+len(chunk)-1, got, want, ErrCorrupt)
		}
	}
	copy(p, data[off:off+int64(n)])
	return n, rerr
}

// validatePut checks Put's arguments; both stores use it.
func validatePut(piece int, data []byte) error {
	if !validPiece(piece) {
		return fmt.Errorf("piececache: piece index %d out of range: %w", piece, ErrInvalid)
	}
	if len(data) == 0 || len(data) > MaxPieceSize {
		return fmt.Errorf("piececache: piece %d has %d bytes, want 1 to %d: %w", piece, len(data), MaxPieceSize, ErrInvalid)
	}
	return nil
}

// valueBuf is a pooled buffer for one encoded value: fresh allocations of
// megabytes cost page faults, copies into reused memory do not.
type valueBuf struct {
	b    []byte
	pool *sync.Pool
}

// encode encodes data into a buffer from c's pool.
func (c *Cache) encode(data []byte) *valueBuf {
	vb, _ := c.bufs.Get().(*valueBuf)
	if vb == nil {
		vb = &valueBuf{pool: &c.bufs}
	}
	vb.b = encodeValueInto(vb.b, data)
	return vb
}

// release returns the buffer to its pool; nil is a no-op. The value must
// no longer be used.
func (vb *valueBuf) release() {
	if vb != nil && vb.pool != nil {
		vb.pool.Put(vb)
	}
}
