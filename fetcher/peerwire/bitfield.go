package peerwire

import (
	"fmt"
	"math/bits"
)

// Bits is a BEP 3 bitfield: bit i (the high bit of byte i/8 first) says
// whether piece i is present. It is a plain byte slice, so the payload of a
// Bitfield message converts directly: Bits(m.Bitfield) (copy it first, the
// message's slice is reused by the decoder).
//
// (The name Bitfield is taken by the message ID constant.)
type Bits []byte

// NewBitfield returns an empty bitfield for n pieces.
func NewBitfield(n int) Bits {
	if n < 0 {
		n = 0
	}
	return make(Bits, (n+7)/8)
}

// Len returns how many bits b holds (8 per byte; the spare bits of the
// last byte included).
func (b Bits) Len() int { return len(b) * 8 }

// Has reports whether bit i is set; false for any i out of range.
func (b Bits) Has(i int) bool {
	if i < 0 || i/8 >= len(b) {
		return false
	}
	return b[i/8]&(0x80>>(i%8)) != 0
}

// Set sets bit i. An i out of range is ignored: callers validate piece
// indices from peers against the torrent first.
func (b Bits) Set(i int) {
	if i < 0 || i/8 >= len(b) {
		return
	}
	b[i/8] |= 0x80 >> (i % 8)
}

// Clear clears bit i; an i out of range is ignored.
func (b Bits) Clear(i int) {
	if i < 0 || i/8 >= len(b) {
		return
	}
	b[i/8] &^= 0x80 >> (i % 8)
}

// SetAll sets bits [0, n) (for a HaveAll message), clamped to b's size.
func (b Bits) SetAll(n int) {
	n = max(0, min(n, b.Len()))
	full := n / 8
	for i := range full {
		b[i] = 0xff
	}
	if r := n % 8; r != 0 {
		b[full] |= byte(0xff << (8 - r))
	}
}

// Count returns the number of set bits.
func (b Bits) Count() int {
	c := 0
	for _, x := range b {
		c += bits.OnesCount8(x)
	}
	return c
}

// Clone returns a copy of b that does not share its memory.
func (b Bits) Clone() Bits { return append(Bits(nil), b...) }

// ValidateBitfield checks a received bitfield for a torrent of numPieces
// pieces: it must be exactly (numPieces+7)/8 bytes long and have no spare
// bit set in its last byte. BEP 3 says to drop a peer that fails this. The
// error wraps ErrBadBitfield.
func ValidateBitfield(b []byte, numPieces int) error {
	if numPieces < 0 {
		return fmt.Errorf("%w: negative piece count %d", ErrBadBitfield, numPieces)
	}
	if want := (numPieces + 7) / 8; len(b) != want {
		return fmt.Errorf("%w: %d bytes for %d pieces, want %d", ErrBadBitfield, len(b), numPieces, want)
	}
	if r := numPieces % 8; r != 0 {
		if spare := b[len(b)-1] & (0xff >> r); spare != 0 {
			return fmt.Errorf("%w: spare bits set in the last byte (%#02x) for %d pieces", ErrBadBitfield, b[len(b)-1], numPieces)
		}
	}
	return nil
}
