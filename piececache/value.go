package piececache

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
)

// Piece file layout (format byte 1), one verified piece per file (see
// files.go):
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

// headerLen is the length of the header of a piece of n bytes.
func headerLen(n int) int { return valueFixedHeader + 4*numChunks(n) }

// encodeHeader returns the header for data: its length and its chunks'
// CRCs. The file is the header followed by data.
func encodeHeader(data []byte) []byte {
	nc := numChunks(len(data))
	h := make([]byte, headerLen(len(data)))
	h[0] = valueFormat
	binary.BigEndian.PutUint32(h[1:5], uint32(len(data)))
	for c := range nc {
		chunk := data[c*ChunkSize : min((c+1)*ChunkSize, len(data))]
		binary.BigEndian.PutUint32(h[valueFixedHeader+4*c:], crc32.Checksum(chunk, castagnoli))
	}
	return h
}

// encodeValue returns header and data in one buffer, as a file holds them.
func encodeValue(data []byte) []byte { return append(encodeHeader(data), data...) }

// readValue reads from an encoded piece held in memory; see readPiece.
func readValue(v []byte, p []byte, off int64) (int, error) {
	return readPiece(&sliceReaderAt{v}, int64(len(v)), p, off, nil)
}

// readPiece copies the piece bytes [off, off+len(p)) of the encoded piece
// in r (size bytes long) into p, after checking the CRC of every chunk it
// touches. It has io.ReaderAt semantics at the piece's end. Errors wrap
// ErrCorrupt, or are io.EOF or wrap ErrInvalid; an error reading r is
// returned wrapped in ErrCorrupt only if r ended early.
//
// When the read covers whole chunks (or ends at the piece's end) the bytes
// go straight into p; otherwise through scratch (grown as needed), since a
// chunk must be checked whole.
func readPiece(r io.ReaderAt, size int64, p []byte, off int64, scratch *[]byte) (int, error) {
	var fixed [valueFixedHeader]byte
	if size < valueFixedHeader {
		return 0, fmt.Errorf("piece file of %d bytes is shorter than its header: %w", size, ErrCorrupt)
	}
	if err := readFull(r, fixed[:], 0); err != nil {
		return 0, err
	}
	if fixed[0] != valueFormat {
		return 0, fmt.Errorf("piece file format byte %d, want %d: %w", fixed[0], valueFormat, ErrCorrupt)
	}
	l := int(binary.BigEndian.Uint32(fixed[1:5]))
	if l == 0 || l > MaxPieceSize {
		return 0, fmt.Errorf("piece file claims a piece of %d bytes: %w", l, ErrCorrupt)
	}
	hdr := headerLen(l)
	if size != int64(hdr+l) {
		return 0, fmt.Errorf("piece file of %d bytes, its header says %d: %w", size, hdr+l, ErrCorrupt)
	}
	n, rerr := pieceRange(l, len(p), off)
	if n == 0 {
		return 0, rerr
	}
	first, last := int(off/ChunkSize), int((off+int64(n)-1)/ChunkSize)
	crcs := make([]byte, 4*(last-first+1))
	if err := readFull(r, crcs, int64(valueFixedHeader+4*first)); err != nil {
		return 0, err
	}
	lo, hi := first*ChunkSize, min((last+1)*ChunkSize, l)
	span := p[:n]
	direct := int64(lo) == off && hi == int(off)+n
	if !direct {
		if scratch == nil {
			scratch = new([]byte)
		}
		if cap(*scratch) < hi-lo {
			*scratch = make([]byte, hi-lo)
		}
		span = (*scratch)[:hi-lo]
	}
	if err := readFull(r, span, int64(hdr+lo)); err != nil {
		return 0, err
	}
	for c := first; c <= last; c++ {
		chunk := span[(c-first)*ChunkSize : min((c-first+1)*ChunkSize, len(span))]
		want := binary.BigEndian.Uint32(crcs[4*(c-first):])
		if got := crc32.Checksum(chunk, castagnoli); got != want {
			return 0, fmt.Errorf("chunk %d (bytes %d-%d) has CRC-32C %08x, stored %08x: %w",
				c, c*ChunkSize, c*ChunkSize+len(chunk)-1, got, want, ErrCorrupt)
		}
	}
	if !direct {
		copy(p, span[off-int64(lo):])
	}
	return n, rerr
}

// readFull fills b from r at off; a file that ends early is corrupt.
func readFull(r io.ReaderAt, b []byte, off int64) error {
	n, err := r.ReadAt(b, off)
	if n == len(b) {
		return nil
	}
	if err == nil || errors.Is(err, io.EOF) {
		return fmt.Errorf("piece file ends at %d, before byte %d: %w", off+int64(n), off+int64(len(b)), ErrCorrupt)
	}
	return fmt.Errorf("read piece file: %w", err)
}

// sliceReaderAt is an io.ReaderAt over a byte slice.
type sliceReaderAt struct{ b []byte }

func (s *sliceReaderAt) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 || off >= int64(len(s.b)) {
		return 0, io.EOF
	}
	n := copy(p, s.b[off:])
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
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
