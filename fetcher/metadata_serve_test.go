package fetcher_test

import (
	"bufio"
	"bytes"
	"net"
	"strconv"
	"testing"
	"time"

	"github.com/torrentfs/torrentfs/fetcher/peerwire"
	"github.com/torrentfs/torrentfs/internal/leakcheck"
	"github.com/torrentfs/torrentfs/metainfo"
)

// theirMetaID is the ut_metadata id the hand-driven peer asks for.
const theirMetaID = 5

// dialMetaPeer connects to c as a hand-driven peer that speaks the extension
// protocol and offers ut_metadata, and reads the client's extension
// handshake, returning its ut_metadata id and metadata_size.
func dialMetaPeer(t *testing.T, addr net.Addr, ih metainfo.InfoHash) (net.Conn, *peerwire.Decoder, uint8, int64) {
	t.Helper()
	conn, err := net.Dial("tcp", addr.String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	h := peerwire.Handshake{InfoHash: ih}
	copy(h.PeerID[:], "-RG0001-metametameta")
	h.SetExtended()
	if err := peerwire.WriteHandshake(conn, h); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(conn)
	theirs, err := peerwire.ReadHandshake(br)
	if err != nil || !theirs.Extended() {
		t.Fatalf("handshake %+v, %v: want the extension bit", theirs, err)
	}
	hs, _ := metainfo.Encode(map[string]any{"m": map[string]any{"ut_metadata": theirMetaID}})
	sendMetaMsg(t, conn, &peerwire.Message{ID: peerwire.Extended, Payload: hs})
	dec := peerwire.NewDecoder(br, 1<<20)
	m := readMetaExt(t, conn, dec, 0)
	v, err := metainfo.Decode(m)
	if err != nil {
		t.Fatal(err)
	}
	d := v.(map[string]any)
	id := d["m"].(map[string]any)["ut_metadata"].(int64)
	return conn, dec, uint8(id), d["metadata_size"].(int64)
}

func sendMetaMsg(t *testing.T, conn net.Conn, m *peerwire.Message) {
	t.Helper()
	if _, err := conn.Write(peerwire.AppendMessage(nil, m)); err != nil {
		t.Fatal(err)
	}
}

// readMetaExt reads messages until an extended one with the given id and
// returns a copy of its payload.
func readMetaExt(t *testing.T, conn net.Conn, dec *peerwire.Decoder, id uint8) []byte {
	t.Helper()
	conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	var m peerwire.Message
	for {
		if err := dec.Decode(&m); err != nil {
			t.Fatalf("waiting for extended message %d: %v", id, err)
		}
		if m.ID == peerwire.Extended && m.ExtendedID == id {
			return append([]byte(nil), m.Payload...)
		}
	}
}

func metaReq(t *testing.T, conn net.Conn, id uint8, payload string) {
	t.Helper()
	sendMetaMsg(t, conn, &peerwire.Message{ID: peerwire.Extended, ExtendedID: id, Payload: []byte(payload)})
}

func TestServeMetadata(t *testing.T) {
	defer leakcheck.Check(t)()
	f := bigInfoFixture(t)
	seeder, _ := startSeeder(t, f)
	conn, dec, id, size := dialMetaPeer(t, seeder.Addr(), f.mi.InfoHash)
	if size != int64(len(f.mi.InfoBytes)) {
		t.Fatalf("metadata_size %d, want %d", size, len(f.mi.InfoBytes))
	}
	// Every piece, asked for in reverse order, then one past the end.
	n := (int(size) + 16383) / 16384
	var got []byte
	for i := n - 1; i >= 0; i-- {
		metaReq(t, conn, id, "d8:msg_typei0e5:piecei"+strconv.Itoa(i)+"ee")
		payload := readMetaExt(t, conn, dec, theirMetaID)
		v, k, err := metainfo.DecodePrefix(payload)
		if err != nil {
			t.Fatal(err)
		}
		d := v.(map[string]any)
		if d["msg_type"] != int64(1) || d["piece"] != int64(i) || d["total_size"] != size {
			t.Fatalf("answer to piece %d: %v", i, d)
		}
		got = append(append([]byte(nil), payload[k:]...), got...)
	}
	if !bytes.Equal(got, f.mi.InfoBytes) {
		t.Fatalf("served %d bytes that differ from the %d-byte info dictionary", len(got), len(f.mi.InfoBytes))
	}
	// An unknown message type is ignored; a piece past the end is rejected.
	metaReq(t, conn, id, "d8:msg_typei9e5:piecei0ee")
	metaReq(t, conn, id, "d8:msg_typei0e5:piecei"+strconv.Itoa(n)+"ee")
	if ans := string(readMetaExt(t, conn, dec, theirMetaID)); ans != "d8:msg_typei2e5:piecei"+strconv.Itoa(n)+"ee" {
		t.Fatalf("answer to piece %d of %d: %q, want a reject", n, n, ans)
	}
	// A data message from them is ignored too: the connection stays.
	metaReq(t, conn, id, "d8:msg_typei1e5:piecei0e10:total_sizei3eeabc")
	metaReq(t, conn, id, "d8:msg_typei0e5:piecei0ee")
	if ans := readMetaExt(t, conn, dec, theirMetaID); !bytes.HasPrefix(ans, []byte("d8:msg_typei1e5:piecei0e")) {
		t.Fatalf("answer to piece 0: %.40q", ans)
	}
}

func TestServeMetadataMalformedDisconnects(t *testing.T) {
	defer leakcheck.Check(t)()
	f := newFixture(t, 32<<10, 100000)
	for _, payload := range []string{"not bencode", "le", "d5:piecei0ee", "d8:msg_typei0ee", "d8:msg_typei0e5:piecei-1ee"} {
		t.Run(payload, func(t *testing.T) {
			seeder, _ := startSeeder(t, f)
			conn, _, id, _ := dialMetaPeer(t, seeder.Addr(), f.mi.InfoHash)
			metaReq(t, conn, id, payload)
			br := bufio.NewReader(conn)
			expectDisconnect(t, conn, br)
		})
	}
}

// TestServeMetadataBoundsQueue: a peer that asks for far more than it
// reads gets rejects once its queue is full, and our memory stays bounded.
func TestServeMetadataBoundsQueue(t *testing.T) {
	defer leakcheck.Check(t)()
	f := bigInfoFixture(t)
	seeder, _ := startSeeder(t, f)
	conn, dec, id, _ := dialMetaPeer(t, seeder.Addr(), f.mi.InfoHash)
	const asks = 2000 // 32 MB of answers if all were served
	var reqs []byte
	for range asks {
		reqs = peerwire.AppendMessage(reqs, &peerwire.Message{ID: peerwire.Extended, ExtendedID: id, Payload: []byte("d8:msg_typei0e5:piecei0ee")})
	}
	if _, err := conn.Write(reqs); err != nil {
		t.Fatal(err)
	}
	data, rejects := 0, 0
	for data+rejects < asks {
		ans := readMetaExt(t, conn, dec, theirMetaID)
		switch {
		case bytes.HasPrefix(ans, []byte("d8:msg_typei1e")):
			data++
		case bytes.HasPrefix(ans, []byte("d8:msg_typei2e")):
			rejects++
		default:
			t.Fatalf("answer %.40q", ans)
		}
	}
	if rejects == 0 {
		t.Errorf("served all %d requests, want some rejected", asks)
	}
	t.Logf("%d served, %d rejected", data, rejects)
}
