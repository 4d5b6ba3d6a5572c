package testbytes

import (
	"bytes"
	"io"
	"testing"
)

func TestBytesArePrefixStableAndSeeded(t *testing.T) {
	a := Bytes(1, 1000)
	b := Bytes(1, 1500)
	if !bytes.Equal(a, b[:1000]) {
		t.Fatal("Bytes(1, 1000) is not a prefix of Bytes(1, 1500)")
	}
	if bytes.Equal(a, Bytes(2, 1000)) {
		t.Fatal("different seeds gave the same bytes")
	}
}

func TestStreamMatchesBytesAtAnyOffset(t *testing.T) {
	want := Bytes(7, 4099)
	s := Reader(7, int64(len(want)))
	for _, off := range []int64{0, 1, 7, 8, 9, 100, 4090} {
		got := make([]byte, 13)
		n, err := s.ReadAt(got, off)
		end := off + 13
		if end > int64(len(want)) {
			end = int64(len(want))
			if err != io.EOF {
				t.Fatalf("ReadAt(%d) past end: err %v, want EOF", off, err)
			}
		}
		if !bytes.Equal(got[:n], want[off:end]) {
			t.Fatalf("ReadAt(%d) = %x, want %x", off, got[:n], want[off:end])
		}
	}
	all, err := io.ReadAll(Reader(7, 4099))
	if err != nil || !bytes.Equal(all, want) {
		t.Fatalf("ReadAll: err %v, equal %v", err, bytes.Equal(all, want))
	}
}
