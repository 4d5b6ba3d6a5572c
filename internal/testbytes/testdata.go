// Package testbytes makes deterministic pseudo-random bytes for tests,
// benchmarks and the demo, so that no test needs data files or the network.
package testbytes

import (
	"encoding/binary"
	"io"
)

// Bytes returns n deterministic bytes for seed. The same (seed, n) always
// gives the same bytes, and Bytes(seed, n) is a prefix of Bytes(seed, m) for
// m > n.
func Bytes(seed uint64, n int) []byte {
	b := make([]byte, n)
	fill(seed, 0, b)
	return b
}

// Reader returns an io.ReaderAt over an endless stream of the bytes Bytes
// would return for seed, without holding them in memory.
func Reader(seed uint64, size int64) *Stream {
	return &Stream{seed: seed, size: size}
}

// Stream is a sized, seekable view of a deterministic byte stream.
type Stream struct {
	seed uint64
	size int64
	pos  int64
}

var (
	_ io.ReaderAt = (*Stream)(nil)
	_ io.Reader   = (*Stream)(nil)
)

// Size is the stream's length in bytes.
func (s *Stream) Size() int64 { return s.size }

// ReadAt implements io.ReaderAt.
func (s *Stream) ReadAt(p []byte, off int64) (int, error) {
	if off >= s.size {
		return 0, io.EOF
	}
	n := len(p)
	if rem := s.size - off; int64(n) > rem {
		n = int(rem)
	}
	fill(s.seed, off, p[:n])
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

// Read implements io.Reader.
func (s *Stream) Read(p []byte) (int, error) {
	n, err := s.ReadAt(p, s.pos)
	s.pos += int64(n)
	return n, err
}

// fill writes the stream's bytes for [off, off+len(b)) into b. Every 8-byte
// word w of the stream is splitmix64(seed ^ w), so any offset can be produced
// directly.
func fill(seed uint64, off int64, b []byte) {
	var word [8]byte
	for len(b) > 0 {
		w := uint64(off) / 8
		skip := int(uint64(off) % 8)
		binary.LittleEndian.PutUint64(word[:], splitmix64(seed^(w*0x9e3779b97f4a7c15)))
		n := copy(b, word[skip:])
		b = b[n:]
		off += int64(n)
	}
}

func splitmix64(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}
