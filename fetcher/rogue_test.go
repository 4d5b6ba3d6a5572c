package fetcher_test

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"testing"
	"time"

	"github.com/torrentfs/torrentfs/fetcher/peerwire"
	"github.com/torrentfs/torrentfs/internal/leakcheck"
)

// dialRaw connects to client c as a hand-driven peer of f's torrent and
// exchanges handshakes. It returns the connection, a reader positioned
// after the handshake, and what the client sent after it in its first
// burst is left for the caller.
func dialRaw(t *testing.T, addr net.Addr, f *fixture, fast bool) (net.Conn, *bufio.Reader) {
	t.Helper()
	conn, err := net.Dial("tcp", addr.String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	h := peerwire.Handshake{InfoHash: f.mi.InfoHash}
	copy(h.PeerID[:], "-RG0001-roguerogue00")
	if fast {
		h.SetFast()
	}
	if err := peerwire.WriteHandshake(conn, h); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(conn)
	if _, err := peerwire.ReadHandshake(br); err != nil {
		t.Fatal(err)
	}
	return conn, br
}

// expectDisconnect reads until the client closes the connection.
func expectDisconnect(t *testing.T, conn net.Conn, br *bufio.Reader) {
	t.Helper()
	conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, err := io.Copy(io.Discard, br)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatal("the client kept the connection open")
	}
}

func TestHostilePeersAreDisconnected(t *testing.T) {
	f := newFixture(t, 32<<10, 100000) // 4 pieces
	msg := func(m *peerwire.Message) []byte { return peerwire.AppendMessage(nil, m) }
	cases := []struct {
		name string
		send []byte
	}{
		{"message over the size limit", binary.BigEndian.AppendUint32(nil, 64<<20)},
		{"bitfield of the wrong length", msg(&peerwire.Message{ID: peerwire.Bitfield, Bitfield: []byte{0xff, 0xff}})},
		{"bitfield with spare bits set", msg(&peerwire.Message{ID: peerwire.Bitfield, Bitfield: []byte{0xff}})},
		{"have past the last piece", msg(&peerwire.Message{ID: peerwire.Have, Index: 4})},
		{"request past the last piece", msg(&peerwire.Message{ID: peerwire.Request, Index: 9, Begin: 0, Length: 16384})},
		{"request over 16 KiB", msg(&peerwire.Message{ID: peerwire.Request, Index: 0, Begin: 0, Length: 32768})},
		{"request past the piece's end", msg(&peerwire.Message{ID: peerwire.Request, Index: 3, Begin: 16384, Length: 16384})},
		{"unknown message id", []byte{0, 0, 0, 1, 99}},
		{"wrong length for a have", []byte{0, 0, 0, 3, 4, 0, 0}},
		{"have-all without the fast extension", msg(&peerwire.Message{ID: peerwire.HaveAll})},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			defer leakcheck.Check(t)()
			seeder, _ := startSeeder(t, f)
			conn, br := dialRaw(t, seeder.Addr(), f, false)
			if _, err := conn.Write(tc.send); err != nil {
				t.Fatal(err)
			}
			expectDisconnect(t, conn, br)
		})
	}
}

func TestRequestFloodIsCappedNotQueuedWithoutBound(t *testing.T) {
	defer leakcheck.Check(t)()
	f := newFixture(t, 32<<10, 100000)
	seeder, _ := startSeeder(t, f)
	conn, br := dialRaw(t, seeder.Addr(), f, true)
	// Ask to be unchoked, then send far more requests than the queue cap
	// without reading anything back.
	var out []byte
	out = peerwire.AppendMessage(out, &peerwire.Message{ID: peerwire.Interested})
	for i := 0; i < 5000; i++ {
		out = peerwire.AppendMessage(out, &peerwire.Message{ID: peerwire.Request, Index: uint32(i % 3), Begin: 0, Length: 16384})
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	go func() {
		<-ctx.Done()
		conn.Close()
	}()
	if _, err := conn.Write(out); err != nil {
		t.Fatal(err)
	}
	// Count what comes back: served blocks plus rejects must account for
	// every request, and the client must stay responsive.
	dec := peerwire.NewDecoder(br, 1<<20)
	var m peerwire.Message
	pieces, rejects := 0, 0
	for pieces+rejects < 5000 {
		if err := dec.Decode(&m); err != nil {
			t.Fatalf("after %d blocks and %d rejects: %v", pieces, rejects, err)
		}
		switch m.ID {
		case peerwire.Piece:
			pieces++
		case peerwire.Reject:
			rejects++
		}
	}
	if rejects == 0 {
		t.Fatalf("5000 queued requests were all accepted; the queue has no cap")
	}
	t.Logf("served %d blocks, rejected %d requests", pieces, rejects)
}
