package fetcher_test

import (
	"bytes"
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"testing"
	"time"

	"github.com/torrentfs/torrentfs/fetcher"
	"github.com/torrentfs/torrentfs/internal/testbytes"
	"github.com/torrentfs/torrentfs/metainfo"
)

// TestOutgoingFromListenAddress: a client listening on 127.0.0.2 announces
// to a tracker and dials peers on 127.0.0.1 from 127.0.0.2, so that the
// tracker hands out an address where the client can be reached.
func TestOutgoingFromListenAddress(t *testing.T) {
	announcedFrom := make(chan string, 8)
	tr := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host, _, _ := net.SplitHostPort(r.RemoteAddr)
		announcedFrom <- host
		w.Write([]byte("d8:intervali1800e5:peers0:e"))
	}))
	defer tr.Close()
	peer, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer peer.Close()
	dialedFrom := make(chan string, 1)
	go func() {
		conn, err := peer.Accept()
		if err != nil {
			return
		}
		host, _, _ := net.SplitHostPort(conn.RemoteAddr().String())
		dialedFrom <- host
		conn.Close()
	}()

	data := testbytes.Bytes(7, 64<<10)
	_, mi, err := metainfo.Create(metainfo.CreateOptions{Name: "bind.bin", PieceLength: 16 << 10, SingleFile: true, Announce: tr.URL + "/announce"},
		[]metainfo.CreateFile{{Path: []string{"bind.bin"}, Length: int64(len(data)), Data: bytes.NewReader(data)}})
	if err != nil {
		t.Fatal(err)
	}
	c := newClient(t, nil, func(o *fetcher.Options) {
		o.ListenAddr = "127.0.0.2:0"
		o.DisableTrackers = false
	})
	tor, err := c.AddTorrent(context.Background(), mi)
	if err != nil {
		t.Fatal(err)
	}
	tor.AddPeers(netip.MustParseAddrPort(peer.Addr().String()))
	for name, ch := range map[string]chan string{"announce": announcedFrom, "peer connection": dialedFrom} {
		select {
		case from := <-ch:
			if from != "127.0.0.2" {
				t.Errorf("%s came from %s, want 127.0.0.2 (the listening address)", name, from)
			}
		case <-time.After(10 * time.Second):
			t.Errorf("no %s within 10s", name)
		}
	}
}
