package fetcher

import (
	"bytes"
	"errors"
	"io"
	"log/slog"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/torrentfs/torrentfs/fetcher/peerwire"
	"github.com/torrentfs/torrentfs/metainfo"
)

// tickFixture is a torrent with hand-made peers, for driving pexTickLocked
// directly: no connections, no goroutines.
type tickFixture struct {
	t    *Torrent
	recv *peer // the peer whose messages the test reads
}

func newTickFixture(private bool, others int) *tickFixture {
	info := &metainfo.Info{PieceLength: 16 << 10, Pieces: make([][20]byte, 4), TotalLength: 64 << 10, Private: private}
	tor := &Torrent{c: &Client{}, info: info, peers: map[*peer]struct{}{}, known: map[netip.AddrPort]*peerAddr{}, kick: make(chan struct{}, 1)}
	mk := func(addr netip.AddrPort, incoming bool, port uint16) *peer {
		p := &peer{t: tor, addr: addr, incoming: incoming, listenPort: port, extIDs: map[string]uint8{},
			bitfield: peerwire.NewBitfield(4), wakeW: make(chan struct{}, 1), log: slog.New(slog.DiscardHandler)}
		tor.peers[p] = struct{}{}
		return p
	}
	f := &tickFixture{t: tor}
	f.recv = mk(netip.MustParseAddrPort("192.0.2.1:50000"), true, 6881)
	f.recv.extIDs[extPEX] = 3
	for i := range others {
		mk(netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 0, 0, byte(i + 1)}), 1000), false, 0)
	}
	// Peers whose listen address we do not know are never reported.
	mk(netip.MustParseAddrPort("198.51.100.1:40000"), true, 0)
	return f
}

// sent returns the ut_pex messages queued for the receiving peer since
// the last call.
func (f *tickFixture) sent(t *testing.T) []pexMessage {
	t.Helper()
	buf := f.recv.outBuf
	f.recv.outBuf = nil
	dec := peerwire.NewDecoder(bytes.NewReader(buf), 1<<20)
	var out []pexMessage
	var m peerwire.Message
	for {
		err := dec.Decode(&m)
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		if m.ID != peerwire.Extended || m.ExtendedID != 3 {
			t.Fatalf("queued %v, want a ut_pex message with the peer's id 3", m.ID)
		}
		msg, err := parsePEX(m.Payload)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, msg)
	}
}

func TestPEXTickSendsAtMost50ThenTheRestAMinuteLater(t *testing.T) {
	f := newTickFixture(false, 60)
	now := time.Now()
	f.t.pexTickLocked(now)
	msgs := f.sent(t)
	if len(msgs) != 1 || len(msgs[0].Added) != pexMaxSend || len(msgs[0].Dropped) != 0 {
		t.Fatalf("first tick sent %d messages (%+v), want one with %d added", len(msgs), msgs, pexMaxSend)
	}
	for _, p := range msgs[0].Added {
		if p.Flags != pexFlagOutgoing {
			t.Fatalf("%v has flags %#x, want reachable only", p.Addr, p.Flags)
		}
	}
	f.t.pexTickLocked(now.Add(59 * time.Second))
	if msgs := f.sent(t); len(msgs) != 0 {
		t.Fatalf("a second message within a minute: %+v", msgs)
	}
	f.t.pexTickLocked(now.Add(61 * time.Second))
	msgs2 := f.sent(t)
	if len(msgs2) != 1 || len(msgs2[0].Added) != 10 {
		t.Fatalf("a minute later sent %+v, want the 10 left", msgs2)
	}
	var all []netip.AddrPort
	for _, p := range append(msgs[0].Added, msgs2[0].Added...) {
		all = append(all, p.Addr)
	}
	slices.SortFunc(all, netip.AddrPort.Compare)
	if len(slices.Compact(all)) != 60 {
		t.Fatalf("the two messages named %d distinct peers, want 60", len(all))
	}
	// Five peers leave; nothing else changes.
	n := 0
	var gone []netip.AddrPort
	for p := range f.t.peers {
		if p != f.recv && !p.incoming && n < 5 {
			delete(f.t.peers, p)
			gone = append(gone, p.addr)
			n++
		}
	}
	f.t.pexTickLocked(now.Add(122 * time.Second))
	msgs3 := f.sent(t)
	slices.SortFunc(gone, netip.AddrPort.Compare)
	if len(msgs3) != 1 || len(msgs3[0].Added) != 0 || !slices.Equal(msgs3[0].Dropped, gone) {
		t.Fatalf("after 5 left, sent %+v, want dropped %v", msgs3, gone)
	}
	f.t.pexTickLocked(now.Add(200 * time.Second))
	if msgs := f.sent(t); len(msgs) != 0 {
		t.Fatalf("nothing changed but the client sent %+v", msgs)
	}
}

func TestPEXTickReportsIncomingPeersByTheirPort(t *testing.T) {
	f := newTickFixture(false, 0)
	seed := &peer{t: f.t, addr: netip.MustParseAddrPort("[2001:db8::5]:55555"), incoming: true, listenPort: 7000,
		haveAll: true, extIDs: map[string]uint8{}, wakeW: make(chan struct{}, 1)}
	f.t.peers[seed] = struct{}{}
	f.t.pexTickLocked(time.Now())
	msgs := f.sent(t)
	want := []pexPeer{{netip.MustParseAddrPort("[2001:db8::5]:7000"), pexFlagSeed}}
	if len(msgs) != 1 || !slices.Equal(msgs[0].Added, want) {
		t.Fatalf("sent %+v, want added %v (not reachable: it connected to us)", msgs, want)
	}
}

func TestPEXTickSendsNothingOnPrivateTorrents(t *testing.T) {
	f := newTickFixture(true, 3)
	f.t.pexTickLocked(time.Now())
	if len(f.recv.outBuf) != 0 {
		t.Fatal("a private torrent queued a message")
	}
	if err := f.t.handlePEXLocked(f.recv, encodePEX(pexMessage{Added: []pexPeer{{Addr: netip.MustParseAddrPort("10.9.9.9:9")}}})); err == nil || len(f.t.known) != 0 {
		t.Fatalf("peer exchange on a private torrent: err %v, known %v", err, f.t.known)
	}
}
