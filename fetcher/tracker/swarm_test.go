package tracker

import (
	"net/http"
	"net/netip"
	"slices"
	"testing"

	"github.com/torrentfs/torrentfs/internal/testbytes"
	"github.com/torrentfs/torrentfs/internal/testswarm"
)

// Announces against the project's in-process tracker, as the fetcher does.
func TestAnnounceTestswarm(t *testing.T) {
	tr := testswarm.NewTracker(nil)
	if err := tr.Start(t.Context(), "127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	transport := &http.Transport{}
	defer transport.CloseIdleConnections()
	c := &http.Client{Transport: transport}

	var ih [20]byte
	copy(ih[:], testbytes.Bytes(9, 20)) // arbitrary bytes, escapes included
	ih[0], ih[1] = 0x00, 0xff
	seeder := AnnounceRequest{InfoHash: ih, Port: 7001, Event: Started, IP: netip.MustParseAddr("127.0.0.2")}
	copy(seeder.PeerID[:], "-TF0001-seederseeder")
	r, err := Announce(t.Context(), c, tr.URL(), seeder)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Peers) != 0 || r.Interval != testswarm.DefaultInterval {
		t.Fatalf("first announce: %+v", r)
	}

	leecher := AnnounceRequest{InfoHash: ih, Port: 7002, Left: 1 << 20, Event: Started, NumWant: 10}
	copy(leecher.PeerID[:], "-TF0001-leecherleech")
	r, err = Announce(t.Context(), c, tr.URL(), leecher)
	if err != nil {
		t.Fatal(err)
	}
	if want := []netip.AddrPort{netip.MustParseAddrPort("127.0.0.2:7001")}; !slices.Equal(r.Peers, want) {
		t.Fatalf("leecher got peers %v, want %v", r.Peers, want)
	}

	seeder.Event = Stopped
	if _, err := Announce(t.Context(), c, tr.URL(), seeder); err != nil {
		t.Fatal(err)
	}
	leecher.Event = None
	if r, err = Announce(t.Context(), c, tr.URL(), leecher); err != nil || len(r.Peers) != 0 {
		t.Fatalf("after the seeder stopped: %v %v", err, r)
	}
}
