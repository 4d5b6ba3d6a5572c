package metainfo

import (
	"crypto/sha1"
	"fmt"
	"sort"
)

// The layout methods below map between pieces, files and offsets in the
// torrent's byte stream (all files, padding included, back to back).
//
// They work on an Info that Parse, ParseInfo or Create returned, whose
// invariants those functions check. Arguments out of range are bugs in the
// caller, not bad input, and panic with a message saying so; nothing that
// comes from an untrusted torrent can reach such a panic. FilesInRange and
// VerifyPiece are queries and never panic.

// NumPieces returns the number of pieces.
func (i *Info) NumPieces() int { return len(i.Pieces) }

// PieceOffset returns the stream offset of piece p's first byte.
// It panics unless 0 <= p < NumPieces().
func (i *Info) PieceOffset(p int) int64 {
	i.checkPiece(p)
	return int64(p) * i.PieceLength
}

// PieceSize returns the length of piece p: PieceLength, except that the
// last piece may be shorter. It panics unless 0 <= p < NumPieces().
func (i *Info) PieceSize(p int) int64 {
	off := i.PieceOffset(p)
	return min(i.PieceLength, i.TotalLength-off)
}

// PieceAt returns the piece holding stream offset off.
// It panics unless 0 <= off < TotalLength.
func (i *Info) PieceAt(off int64) int {
	if off < 0 || off >= i.TotalLength {
		panic(fmt.Sprintf("metainfo: PieceAt(%d) outside the %d-byte stream", off, i.TotalLength))
	}
	return int(off / i.PieceLength)
}

// FilePieces returns the pieces [first, end) that hold file f's bytes. For
// an empty file first == end (and may equal NumPieces() for an empty file at
// the very end). Neighbouring files may share their boundary pieces. It panics unless 0 <= f < len(Files).
func (i *Info) FilePieces(f int) (first, end int) {
	if f < 0 || f >= len(i.Files) {
		panic(fmt.Sprintf("metainfo: FilePieces(%d) with %d files", f, len(i.Files)))
	}
	file := i.Files[f]
	first = int(file.Offset / i.PieceLength)
	if file.Length == 0 {
		return first, first
	}
	end = int((file.Offset+file.Length-1)/i.PieceLength) + 1
	return first, end
}

// FileAt returns the index of the non-empty file holding stream offset
// off. It panics unless 0 <= off < TotalLength.
func (i *Info) FileAt(off int64) int {
	if off < 0 || off >= i.TotalLength {
		panic(fmt.Sprintf("metainfo: FileAt(%d) outside the %d-byte stream", off, i.TotalLength))
	}
	// File ends are non-decreasing; the first file ending after off holds it.
	return sort.Search(len(i.Files), func(k int) bool {
		return i.Files[k].Offset+i.Files[k].Length > off
	})
}

// FilesInRange returns, in order, the indices of the non-empty files
// (padding files included) that overlap the stream range [off, off+n).
// The range is clipped to the stream; an empty result is nil.
func (i *Info) FilesInRange(off, n int64) []int {
	if n <= 0 {
		return nil
	}
	if off < 0 {
		n += off
		off = 0
	}
	if n <= 0 || off >= i.TotalLength {
		return nil
	}
	end := i.TotalLength
	if n < end-off {
		end = off + n
	}
	var out []int
	for k := i.FileAt(off); k < len(i.Files) && i.Files[k].Offset < end; k++ {
		if i.Files[k].Length > 0 {
			out = append(out, k)
		}
	}
	return out
}

// PieceFiles returns the indices of the non-empty files (padding files
// included) that hold bytes of piece p. It panics unless
// 0 <= p < NumPieces().
func (i *Info) PieceFiles(p int) []int {
	return i.FilesInRange(i.PieceOffset(p), i.PieceSize(p))
}

// VerifyPiece reports whether data is exactly piece p: the right length
// and the right SHA-1. It is false for p out of range.
func (i *Info) VerifyPiece(p int, data []byte) bool {
	if p < 0 || p >= len(i.Pieces) || int64(len(data)) != i.PieceSize(p) {
		return false
	}
	return sha1.Sum(data) == i.Pieces[p]
}

func (i *Info) checkPiece(p int) {
	if p < 0 || p >= len(i.Pieces) {
		panic(fmt.Sprintf("metainfo: piece %d out of range [0, %d)", p, len(i.Pieces)))
	}
}
