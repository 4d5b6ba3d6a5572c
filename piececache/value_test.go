package piececache

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"testing"
)

func TestValueRoundTrip(t *testing.T) {
	for _, n := range []int{1, 100, ChunkSize - 1, ChunkSize, ChunkSize + 1, 3*ChunkSize + 17, 1 << 20} {
		data := pieceData(0, n, n)
		v := encodeValue(data)
		if want := valueFixedHeader + 4*numChunks(n) + n; len(v) != want {
			t.Fatalf("%d bytes: encoded length %d, want %d", n, len(v), want)
		}
		got := make([]byte, n)
		if k, err := readValue(v, got, 0); k != n || err != nil || !bytes.Equal(got, data) {
			t.Fatalf("%d bytes: readValue = %d, %v", n, k, err)
		}
		if k, err := readValue(v, got[:1], int64(n)); k != 0 || err != io.EOF {
			t.Fatalf("%d bytes: readValue at end = %d, %v; want 0, io.EOF", n, k, err)
		}
	}
}

func TestValueEveryBitFlipDetected(t *testing.T) {
	data := pieceData(0, 0, 3000)
	v := encodeValue(data)
	got := make([]byte, len(data))
	for i := range v {
		for bit := range 8 {
			w := bytes.Clone(v)
			w[i] ^= 1 << bit
			n, err := readValue(w, got, 0)
			if err == nil && !bytes.Equal(got[:n], data) {
				t.Fatalf("flip of byte %d bit %d: wrong bytes served", i, bit)
			}
			if err == nil && n == len(data) {
				t.Fatalf("flip of byte %d bit %d: not detected", i, bit)
			}
		}
	}
}

// FuzzReadValue feeds arbitrary stored values to the decoder: it must never
// panic, and whatever it returns without error must be the bytes of a value
// whose CRCs match, read with io.ReaderAt semantics.
func FuzzReadValue(f *testing.F) {
	f.Add(encodeValue([]byte("hello")), int64(0), 5)
	f.Add(encodeValue(pieceData(0, 1, ChunkSize+3)), int64(ChunkSize-1), 4)
	f.Add(encodeValue(pieceData(0, 2, 100)), int64(99), 10)
	f.Add([]byte{1, 0, 0, 0, 1, 0, 0, 0, 0, 'x'}, int64(0), 1)
	f.Add([]byte{1, 0xff, 0xff, 0xff, 0xff}, int64(0), 1)
	f.Add([]byte{}, int64(-1), 0)
	f.Fuzz(func(t *testing.T, v []byte, off int64, plen int) {
		if plen < 0 || plen > 1<<18 {
			return
		}
		p := make([]byte, plen)
		n, err := readValue(v, p, off)
		if n < 0 || n > plen {
			t.Fatalf("n = %d for %d-byte buffer", n, plen)
		}
		if errors.Is(err, ErrCorrupt) || errors.Is(err, ErrInvalid) {
			if n != 0 {
				t.Fatalf("error %v with %d bytes", err, n)
			}
			return
		}
		// Accepted: the header is sound and every chunk the read touched
		// has the CRC a fresh encoding gives it.
		crcs, data, herr := decodeForTest(v)
		if herr != nil {
			t.Fatalf("readValue accepted a value decodeHeader rejects: %v", herr)
		}
		if n > 0 {
			fresh, _, _ := decodeForTest(encodeValue(data))
			for c := off / ChunkSize; c <= (off+int64(n)-1)/ChunkSize; c++ {
				if !bytes.Equal(crcs[4*c:4*c+4], fresh[4*c:4*c+4]) {
					t.Fatalf("served chunk %d with a wrong CRC", c)
				}
			}
		}
		if n > 0 && !bytes.Equal(p[:n], data[off:off+int64(n)]) {
			t.Fatalf("wrong bytes")
		}
		if n < plen && err != io.EOF {
			t.Fatalf("short read of %d of %d bytes without io.EOF: %v", n, plen, err)
		}
		if err == io.EOF && off+int64(n) < int64(len(data)) {
			t.Fatalf("io.EOF at %d+%d in a %d-byte piece", off, n, len(data))
		}
		if err != nil && err != io.EOF {
			t.Fatalf("unexpected error %v", err)
		}
	})
}

// decodeForTest is a reference decoder of the layout in value.go: it
// checks the header and returns the CRCs and the piece bytes, without
// checking the CRCs.
func decodeForTest(v []byte) (crcs, data []byte, err error) {
	if len(v) < valueFixedHeader || v[0] != valueFormat {
		return nil, nil, ErrCorrupt
	}
	l := int(binary.BigEndian.Uint32(v[1:5]))
	if l == 0 || l > MaxPieceSize || len(v) != headerLen(l)+l {
		return nil, nil, ErrCorrupt
	}
	return v[valueFixedHeader:headerLen(l)], v[headerLen(l):], nil
}
