package peerwire

import (
	"testing"

	"github.com/torrentfs/torrentfs/internal/testbytes"
)

// loopReader yields its data over and over, like a peer streaming pieces.
type loopReader struct {
	data []byte
	off  int
}

func (l *loopReader) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		k := copy(p[n:], l.data[l.off:])
		n += k
		l.off = (l.off + k) % len(l.data)
	}
	return n, nil
}

func pieceStream(n int) []byte {
	var wire []byte
	for i := range n {
		wire = AppendMessage(wire, &Message{ID: Piece, Index: uint32(i), Begin: 0, Block: testbytes.Bytes(uint64(i), BlockSize)})
	}
	return wire
}

func TestDecodeSteadyStateAllocs(t *testing.T) {
	d := NewDecoder(&loopReader{data: pieceStream(4)}, 0)
	var m Message
	for range 8 { // warm up: the buffer grows to one piece message
		if err := d.Decode(&m); err != nil {
			t.Fatal(err)
		}
	}
	allocs := testing.AllocsPerRun(1000, func() {
		if err := d.Decode(&m); err != nil || m.ID != Piece || len(m.Block) != BlockSize {
			t.Fatalf("decode: %v %v %d", err, m.ID, len(m.Block))
		}
	})
	if allocs != 0 {
		t.Fatalf("%v allocations per Decode of a Piece message, want 0", allocs)
	}
}

func BenchmarkDecodePiece(b *testing.B) {
	wire := pieceStream(4)
	d := NewDecoder(&loopReader{data: wire}, 0)
	var m Message
	b.SetBytes(int64(len(wire) / 4))
	b.ReportAllocs()
	for b.Loop() {
		if err := d.Decode(&m); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkAppendPiece(b *testing.B) {
	m := Message{ID: Piece, Index: 1, Begin: 0, Block: testbytes.Bytes(1, BlockSize)}
	buf := make([]byte, 0, BlockSize+13)
	b.SetBytes(BlockSize + 13)
	b.ReportAllocs()
	for b.Loop() {
		buf = AppendMessage(buf[:0], &m)
	}
}
