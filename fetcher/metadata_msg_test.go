package fetcher

import (
	"bytes"
	"errors"
	"testing"
)

func TestParseMetadataMsg(t *testing.T) {
	cases := []struct {
		name    string
		in      string
		want    metadataMsg
		wantErr bool
	}{
		{"request", "d8:msg_typei0e5:piecei3ee", metadataMsg{Type: metaRequest, Piece: 3}, false},
		{"reject", "d8:msg_typei2e5:piecei0ee", metadataMsg{Type: metaReject}, false},
		{"data with bytes after the dict", "d8:msg_typei1e5:piecei1e10:total_sizei16390eeHELLO",
			metadataMsg{Type: metaData, Piece: 1, TotalSize: 16390, Data: []byte("HELLO")}, false},
		{"data with no bytes", "d8:msg_typei1e5:piecei0e10:total_sizei5ee", metadataMsg{Type: metaData, TotalSize: 5, Data: []byte{}}, false},
		{"unknown type is not an error", "d8:msg_typei7ee", metadataMsg{Type: -1}, false},
		{"negative type is unknown", "d8:msg_typei-1e5:piecei0ee", metadataMsg{Type: -1}, false},
		{"empty", "", metadataMsg{}, true},
		{"not bencode", "hello", metadataMsg{}, true},
		{"a list", "li0ee", metadataMsg{}, true},
		{"no msg_type", "d5:piecei0ee", metadataMsg{}, true},
		{"string msg_type", "d8:msg_type1:05:piecei0ee", metadataMsg{}, true},
		{"request without piece", "d8:msg_typei0ee", metadataMsg{}, true},
		{"negative piece", "d8:msg_typei0e5:piecei-1ee", metadataMsg{}, true},
		{"huge piece", "d8:msg_typei0e5:piecei99999999999ee", metadataMsg{}, true},
		{"data without total_size", "d8:msg_typei1e5:piecei0eeXX", metadataMsg{}, true},
		{"data with zero total_size", "d8:msg_typei1e5:piecei0e10:total_sizei0eeXX", metadataMsg{}, true},
		{"truncated dict", "d8:msg_typei0e5:piecei0e", metadataMsg{}, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseMetadataMsg([]byte(tc.in))
			if tc.wantErr {
				if !errors.Is(err, errBadMetadataMsg) {
					t.Fatalf("parse(%q) = %+v, %v; want errBadMetadataMsg", tc.in, got, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("parse(%q): %v", tc.in, err)
			}
			if got.Type != tc.want.Type || got.Piece != tc.want.Piece || got.TotalSize != tc.want.TotalSize || !bytes.Equal(got.Data, tc.want.Data) {
				t.Fatalf("parse(%q) = %+v, want %+v", tc.in, got, tc.want)
			}
		})
	}
}

func TestMetadataMsgRoundTrip(t *testing.T) {
	for _, m := range []metadataMsg{
		{Type: metaRequest, Piece: 7},
		{Type: metaReject, Piece: 0},
		{Type: metaData, Piece: 2, TotalSize: 40000, Data: bytes.Repeat([]byte("e"), 40000-2*metadataPieceSize)},
	} {
		b := appendMetadataMsg(nil, m)
		got, err := parseMetadataMsg(b)
		if err != nil {
			t.Fatalf("%+v: %v", m, err)
		}
		if got.Type != m.Type || got.Piece != m.Piece || got.TotalSize != m.TotalSize || !bytes.Equal(got.Data, m.Data) {
			t.Fatalf("round trip of %+v gave %+v", m, got)
		}
	}
}

func TestMetadataPieceLayout(t *testing.T) {
	for _, tc := range []struct {
		size      int64
		pieces    int
		lastPiece int
	}{
		{1, 1, 1},
		{metadataPieceSize, 1, metadataPieceSize},
		{metadataPieceSize + 1, 2, 1},
		{MaxMetadataSize, maxMetadataPieces, metadataPieceSize},
	} {
		if n := metadataPieces(tc.size); n != tc.pieces {
			t.Errorf("metadataPieces(%d) = %d, want %d", tc.size, n, tc.pieces)
		}
		if l := metadataPieceLen(tc.size, tc.pieces-1); l != tc.lastPiece {
			t.Errorf("last piece of %d bytes has %d bytes, want %d", tc.size, l, tc.lastPiece)
		}
	}
}

// FuzzParseMetadataMsg: no input panics; whatever parses as a known type
// encodes back to a message that parses the same.
func FuzzParseMetadataMsg(f *testing.F) {
	for _, s := range []string{
		"d8:msg_typei0e5:piecei0ee",
		"d8:msg_typei1e5:piecei0e10:total_sizei3eeabc",
		"d8:msg_typei2e5:piecei5ee",
		"d8:msg_typei9ee",
		"d5:piecei0ee",
		"le",
		"",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		m, err := parseMetadataMsg(in)
		if err != nil {
			if !errors.Is(err, errBadMetadataMsg) {
				t.Fatalf("error %v does not match errBadMetadataMsg", err)
			}
			return
		}
		if m.Type < 0 {
			return
		}
		if m.Piece < 0 || m.Piece >= maxMetadataPieces || (m.Type == metaData && m.TotalSize <= 0) {
			t.Fatalf("parsed out-of-range %+v", m)
		}
		again, err := parseMetadataMsg(appendMetadataMsg(nil, m))
		if err != nil || again.Type != m.Type || again.Piece != m.Piece || again.TotalSize != m.TotalSize || !bytes.Equal(again.Data, m.Data) {
			t.Fatalf("re-encoding %+v parsed as %+v, %v", m, again, err)
		}
	})
}
