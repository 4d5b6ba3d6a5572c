package fetcher_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/torrentfs/torrentfs/fetcher"
	"github.com/torrentfs/torrentfs/fetcher/peerwire"
	"github.com/torrentfs/torrentfs/internal/leakcheck"
	"github.com/torrentfs/torrentfs/metainfo"
)

// fastPEX makes a client send peer exchange every 200 ms instead of every
// minute (and take a peer's messages every 150 ms).
var fastPEX = fetcher.WithPEXInterval(200 * time.Millisecond)

// rawPEXID is the ut_pex id hand-driven peers ask the client to use.
const rawPEXID = 7

// clientPEXID is the ut_pex id the client gives (extension.go); the
// tests check that its extension handshake says so.
const clientPEXID = 2

func pexAddrOf(c *fetcher.Client) netip.AddrPort { return netip.MustParseAddrPort(c.Addr().String()) }

// TestPEXLeadsToAPeerNobodyElseNamed: A seeds; B holds nothing and is
// connected to A; C is told only of B. C reads every byte, which only A
// has and only B's peer exchange names.
func TestPEXLeadsToAPeerNobodyElseNamed(t *testing.T) {
	defer leakcheck.Check(t)()
	f := newFixture(t, 32<<10, 150000, 7)
	_, addrA := startSeeder(t, f)
	cB, torB := leech(t, f, fastPEX, addrA)
	waitFor(t, "B to connect to A", func() bool { return torB.Stats().Peers == 1 })
	_, torC := leech(t, f, fastPEX, pexAddrOf(cB))
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	for i, want := range f.files {
		r := torC.NewReader(i)
		got, err := readAll(ctx, r, 16<<10)
		r.Close()
		if err != nil {
			t.Fatalf("C reading file %d: %v (peers %d)", i, err, torC.Stats().Peers)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("C read %d bytes of file %d that differ from the %d written", len(got), i, len(want))
		}
	}
	if s := torC.Stats(); s.Peers != 2 {
		t.Fatalf("C has %d peers, want 2 (B, and A learned from B)", s.Peers)
	}
	if s := torB.Stats(); s.HavePieces != 0 {
		t.Fatalf("B fetched %d pieces; the test needs it empty", s.HavePieces)
	}
}

// pexRawPeer is a hand-driven peer that speaks the extension protocol.
type pexRawPeer struct {
	t    *testing.T
	conn net.Conn
	dec  *peerwire.Decoder
	ext  map[string]any // the client's extension handshake, once read
}

// pexDial connects to the client at addr for torrent ih and sends an
// extension handshake that offers ut_pex and gives listenPort as "p".
func pexDial(t *testing.T, addr netip.AddrPort, ih metainfo.InfoHash, listenPort int) *pexRawPeer {
	t.Helper()
	conn, err := net.Dial("tcp", addr.String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	h := peerwire.Handshake{InfoHash: ih}
	copy(h.PeerID[:], "-RG0001-")
	copy(h.PeerID[8:], fmt.Sprintf("%012d", netip.MustParseAddrPort(conn.LocalAddr().String()).Port()))
	h.SetExtended()
	h.SetFast()
	if err := peerwire.WriteHandshake(conn, h); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(conn)
	if _, err := peerwire.ReadHandshake(br); err != nil {
		t.Fatal(err)
	}
	hs := map[string]any{"m": map[string]any{"ut_pex": int64(rawPEXID)}}
	if listenPort > 0 {
		hs["p"] = int64(listenPort)
	}
	r := &pexRawPeer{t: t, conn: conn, dec: peerwire.NewDecoder(br, 1<<20)}
	r.sendExtended(0, hs)
	return r
}

func (r *pexRawPeer) sendExtended(id uint8, v any) {
	r.t.Helper()
	payload, err := metainfo.Encode(v)
	if err != nil {
		r.t.Fatal(err)
	}
	r.sendRaw(id, payload)
}

func (r *pexRawPeer) sendRaw(id uint8, payload []byte) {
	r.t.Helper()
	if _, err := r.conn.Write(peerwire.AppendMessage(nil, &peerwire.Message{ID: peerwire.Extended, ExtendedID: id, Payload: payload})); err != nil {
		r.t.Fatal(err)
	}
}

type pexSeen struct {
	added   []netip.AddrPort
	flags   []byte
	dropped []netip.AddrPort
}

// nextPEX reads until the client sends a ut_pex message, and parses it. It
// reports false if none came within d.
func (r *pexRawPeer) nextPEX(d time.Duration) (pexSeen, bool) {
	r.t.Helper()
	r.conn.SetReadDeadline(time.Now().Add(d))
	defer r.conn.SetReadDeadline(time.Time{})
	var m peerwire.Message
	for {
		if err := r.dec.Decode(&m); err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				return pexSeen{}, false
			}
			r.t.Fatalf("reading from the client: %v", err)
		}
		if m.ID != peerwire.Extended {
			continue
		}
		switch m.ExtendedID {
		case 0:
			r.readExt(m.Payload)
		case rawPEXID:
			var s pexSeen
			var err error
			s.added, s.flags, s.dropped, err = fetcher.ParsePEXForTest(m.Payload)
			if err != nil {
				r.t.Fatalf("client sent a bad ut_pex message: %v", err)
			}
			return s, true
		}
	}
}

func (r *pexRawPeer) readExt(payload []byte) {
	r.t.Helper()
	v, err := metainfo.Decode(payload)
	if err != nil {
		r.t.Fatalf("client's extension handshake: %v", err)
	}
	r.ext = v.(map[string]any)
}

// sendPEX reads the client's extension handshake if not read yet, checks
// that it offers ut_pex as clientPEXID, and sends a ut_pex message.
func (r *pexRawPeer) sendPEX(v any) {
	r.t.Helper()
	r.conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	var m peerwire.Message
	for r.ext == nil {
		if err := r.dec.Decode(&m); err != nil {
			r.t.Fatalf("waiting for the extension handshake: %v", err)
		}
		if m.ID == peerwire.Extended && m.ExtendedID == 0 {
			r.readExt(m.Payload)
		}
	}
	r.conn.SetReadDeadline(time.Time{})
	if m, _ := r.ext["m"].(map[string]any); m["ut_pex"] != int64(clientPEXID) {
		r.t.Fatalf("extension handshake %v does not give ut_pex id %d", r.ext, clientPEXID)
	}
	r.sendExtended(clientPEXID, v)
}

func pexCompact(addrs ...netip.AddrPort) string {
	var b []byte
	for _, a := range addrs {
		b = append(b, a.Addr().AsSlice()...)
		b = append(b, byte(a.Port()>>8), byte(a.Port()))
	}
	return string(b)
}

// pexListener accepts connections on 127.0.0.1 and reports the info hash of
// each handshake it reads.
func pexListener(t *testing.T) (netip.AddrPort, <-chan [20]byte) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ch := make(chan [20]byte, 4)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.SetDeadline(time.Now().Add(5 * time.Second))
			if h, err := peerwire.ReadHandshake(c); err == nil {
				select {
				case ch <- h.InfoHash:
				default:
				}
			}
			c.Close()
		}
	}()
	t.Cleanup(func() { ln.Close(); <-done })
	return netip.MustParseAddrPort(ln.Addr().String()), ch
}

// TestPEXSendsConnectedListenAddresses: what the client tells a peer is
// the listen address of each other peer it knows one for (dialled, or
// given as "p"), with flags, and later what changed.
func TestPEXSendsConnectedListenAddresses(t *testing.T) {
	defer leakcheck.Check(t)()
	f := newFixture(t, 32<<10, 100000)
	_, addrA := startSeeder(t, f)
	cB, torB := leech(t, f, fastPEX, addrA)
	waitFor(t, "B to connect to A", func() bool { return torB.Stats().Peers == 1 })

	r1 := pexDial(t, pexAddrOf(cB), f.mi.InfoHash, 40001)
	got, ok := r1.nextPEX(3 * time.Second)
	if !ok {
		t.Fatal("no ut_pex message within 3 s")
	}
	if !slices.Equal(got.added, []netip.AddrPort{addrA}) || len(got.dropped) != 0 {
		t.Fatalf("first message added %v dropped %v, want added [%v]", got.added, got.dropped, addrA)
	}
	if got.flags[0]&0x10 == 0 || got.flags[0]&0x02 == 0 {
		t.Errorf("A's flags %#x, want reachable (0x10) and seed (0x02)", got.flags[0])
	}
	if m, _ := r1.ext["m"].(map[string]any); m["ut_pex"] == nil {
		t.Errorf("extension handshake %v does not offer ut_pex", r1.ext)
	}

	// A second peer connects and gives its port: it learns of A and of
	// the first one; the first one learns of it.
	r2 := pexDial(t, pexAddrOf(cB), f.mi.InfoHash, 40002)
	got2, ok := r2.nextPEX(3 * time.Second)
	r1addr, r2addr := netip.MustParseAddrPort("127.0.0.1:40001"), netip.MustParseAddrPort("127.0.0.1:40002")
	want2 := []netip.AddrPort{addrA, r1addr}
	slices.SortFunc(want2, netip.AddrPort.Compare)
	if !ok || !slices.Equal(got2.added, want2) { // the client sends them sorted
		t.Fatalf("second peer's first message (%v) added %v, want [%v %v]", ok, got2.added, addrA, r1addr)
	}
	got, ok = r1.nextPEX(3 * time.Second)
	if !ok || !slices.Equal(got.added, []netip.AddrPort{r2addr}) || len(got.dropped) != 0 {
		t.Fatalf("first peer's second message (%v) added %v dropped %v, want added only %v", ok, got.added, got.dropped, r2addr)
	}
	// The second one leaves: the first one hears it dropped.
	r2.conn.Close()
	got, ok = r1.nextPEX(3 * time.Second)
	if !ok || len(got.added) != 0 || !slices.Equal(got.dropped, []netip.AddrPort{r2addr}) {
		t.Fatalf("after the second peer left, message (%v) added %v dropped %v, want dropped only %v", ok, got.added, got.dropped, r2addr)
	}
	// Nothing changes: nothing is sent.
	if got, ok := r1.nextPEX(700 * time.Millisecond); ok {
		t.Fatalf("with nothing new the client sent %+v", got)
	}
}

// TestPEXAddsPeersAndIgnoresFloods: the peers a message names are dialled
// (not port 0, not the client itself); a message that comes too soon is
// ignored; a flood of them ends the connection.
func TestPEXAddsPeersAndIgnoresFloods(t *testing.T) {
	defer leakcheck.Check(t)()
	f := newFixture(t, 32<<10, 100000)
	cB, _ := leech(t, f, nil) // default interval: one message per 45 s is taken
	l1, got1 := pexListener(t)
	l2, got2 := pexListener(t)
	r := pexDial(t, pexAddrOf(cB), f.mi.InfoHash, 0)
	zero := netip.AddrPortFrom(l1.Addr(), 0)
	r.sendPEX(map[string]any{"added": pexCompact(zero, pexAddrOf(cB), l1), "added.f": "\x10\x10\x10"})
	select {
	case ih := <-got1:
		if ih != f.mi.InfoHash {
			t.Fatalf("the client dialled the peer exchange's address for info hash %x", ih)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the client did not dial the address peer exchange gave it")
	}
	r.sendPEX(map[string]any{"added": pexCompact(l2)})
	select {
	case <-got2:
		t.Fatal("a second message within the interval was taken")
	case <-time.After(time.Second):
	}
	// One write: the client may hang up before a later write would start.
	payload, err := metainfo.Encode(map[string]any{"added": pexCompact(l2)})
	if err != nil {
		t.Fatal(err)
	}
	var flood []byte
	for range 12 {
		flood = peerwire.AppendMessage(flood, &peerwire.Message{ID: peerwire.Extended, ExtendedID: clientPEXID, Payload: payload})
	}
	r.conn.Write(flood) // fails if the client already hung up, which is the point
	expectDisconnect(t, r.conn, bufio.NewReader(r.conn))
}

func TestPEXMalformedMessageDisconnects(t *testing.T) {
	defer leakcheck.Check(t)()
	f := newFixture(t, 32<<10, 100000)
	cB, _ := leech(t, f, nil)
	for _, bad := range []map[string]any{{"added": "12345"}, {"added6": "123456"}, {"dropped": int64(3)}} {
		r := pexDial(t, pexAddrOf(cB), f.mi.InfoHash, 0)
		r.sendPEX(bad)
		expectDisconnect(t, r.conn, bufio.NewReader(r.conn))
	}
	r := pexDial(t, pexAddrOf(cB), f.mi.InfoHash, 0)
	r.sendRaw(clientPEXID, []byte("not bencode"))
	expectDisconnect(t, r.conn, bufio.NewReader(r.conn))
}

// TestNoPEXOnPrivateTorrents (BEP 27): the client neither offers nor sends
// peer exchange for a private torrent, a peer that sends it is
// disconnected, and a client told only of B never finds A.
func TestNoPEXOnPrivateTorrents(t *testing.T) {
	defer leakcheck.Check(t)()
	f := newFixture(t, 32<<10, 100000)
	_, mi, err := metainfo.Create(metainfo.CreateOptions{Name: "private", PieceLength: 32 << 10, Private: true},
		[]metainfo.CreateFile{{Path: []string{"a"}, Length: int64(len(f.stream)), Data: bytes.NewReader(f.stream)}})
	if err != nil {
		t.Fatal(err)
	}
	f.mi = mi
	_, addrA := startSeeder(t, f)
	cB, torB := leech(t, f, fastPEX, addrA)
	waitFor(t, "B to connect to A", func() bool { return torB.Stats().Peers == 1 })
	_, torC := leech(t, f, fastPEX, pexAddrOf(cB))
	r := pexDial(t, pexAddrOf(cB), f.mi.InfoHash, 40003)
	if got, ok := r.nextPEX(1500 * time.Millisecond); ok {
		t.Fatalf("the client sent peer exchange on a private torrent: %+v", got)
	}
	if r.ext == nil {
		t.Fatal("no extension handshake")
	}
	if m, _ := r.ext["m"].(map[string]any); m["ut_pex"] != nil {
		t.Fatalf("extension handshake offers ut_pex on a private torrent: %v", r.ext)
	}
	if n := torC.Stats().Peers; n != 1 {
		t.Fatalf("C has %d peers, want only B", n)
	}
	r.sendExtended(clientPEXID, map[string]any{"added": pexCompact(addrA)})
	expectDisconnect(t, r.conn, bufio.NewReader(r.conn))
}
