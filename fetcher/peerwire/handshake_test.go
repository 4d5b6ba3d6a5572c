package peerwire

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/torrentfs/torrentfs/internal/testbytes"
)

func testHandshake() Handshake {
	var h Handshake
	copy(h.InfoHash[:], testbytes.Bytes(1, 20))
	copy(h.PeerID[:], "-TF0001-abcdefghijkl")
	return h
}

func TestHandshakeBytes(t *testing.T) {
	h := testHandshake()
	h.SetExtended()
	h.SetFast()
	var w bytes.Buffer
	if err := WriteHandshake(&w, h); err != nil {
		t.Fatal(err)
	}
	want := "\x13BitTorrent protocol" + "\x00\x00\x00\x00\x00\x10\x00\x04" +
		string(h.InfoHash[:]) + "-TF0001-abcdefghijkl"
	if w.String() != want {
		t.Fatalf("wire form\n got %q\nwant %q", w.String(), want)
	}
	got, err := ReadHandshake(&w)
	if err != nil {
		t.Fatal(err)
	}
	if got != h || !got.Extended() || !got.Fast() {
		t.Fatalf("round trip: got %+v, want %+v", got, h)
	}
}

func TestHandshakeBits(t *testing.T) {
	var h Handshake
	if h.Extended() || h.Fast() {
		t.Fatal("zero handshake claims extensions")
	}
	h.SetExtended()
	if !h.Extended() || h.Fast() || h.Reserved != [8]byte{5: 0x10} {
		t.Fatalf("after SetExtended: %x", h.Reserved)
	}
	h.SetFast()
	if !h.Fast() || h.Reserved != [8]byte{5: 0x10, 7: 0x04} {
		t.Fatalf("after SetFast: %x", h.Reserved)
	}
	// Other clients' bits (DHT 0x01 in byte 7) do not confuse us.
	other := Handshake{Reserved: [8]byte{7: 0x01, 5: 0x01}}
	if other.Fast() || other.Extended() {
		t.Fatal("unrelated reserved bits read as fast/extended")
	}
}

func TestReadHandshakeReadsNoMore(t *testing.T) {
	var b bytes.Buffer
	WriteHandshake(&b, testHandshake())
	b.WriteString("\x00\x00\x00\x01\x02") // interested, right after
	if _, err := ReadHandshake(&b); err != nil {
		t.Fatal(err)
	}
	if b.Len() != 5 {
		t.Fatalf("ReadHandshake consumed %d bytes after the handshake", 5-b.Len())
	}
}

func TestReadHandshakeErrors(t *testing.T) {
	var good bytes.Buffer
	WriteHandshake(&good, testHandshake())
	for _, tc := range []struct {
		name  string
		input string
		is    error
	}{
		{"empty", "", io.EOF},
		{"short protocol", Protocol[:7], io.ErrUnexpectedEOF},
		{"short rest", good.String()[:40], io.ErrUnexpectedEOF},
		{"just protocol", Protocol, io.ErrUnexpectedEOF},
		{"http", "GET / HTTP/1.1\r\nHost: x\r\n\r\n" + strings.Repeat("x", 60), ErrBadProtocol},
		{"wrong length byte", "\x14BitTorrent protocol" + strings.Repeat("\x00", 48), ErrBadProtocol},
		{"encrypted", string(testbytes.Bytes(7, 96)), ErrBadProtocol},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ReadHandshake(strings.NewReader(tc.input))
			if !errors.Is(err, tc.is) {
				t.Fatalf("got %v, want %v", err, tc.is)
			}
			if tc.is != io.EOF && !strings.HasPrefix(err.Error(), "peerwire: ") {
				t.Fatalf("error %q lacks the package prefix", err)
			}
			if IsProtocolError(err) != (tc.is == ErrBadProtocol) {
				t.Fatalf("IsProtocolError(%v) wrong", err)
			}
		})
	}
}

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, io.ErrClosedPipe }

func TestWriteHandshakeError(t *testing.T) {
	if err := WriteHandshake(failWriter{}, testHandshake()); !errors.Is(err, io.ErrClosedPipe) {
		t.Fatalf("got %v", err)
	}
}
