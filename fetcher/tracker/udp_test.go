package tracker

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"net"
	"net/netip"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestUDPAnnounce(t *testing.T) {
	f := newFakeUDP(t, "udp4")
	f.set(func(f *fakeUDP) {
		f.peers = addrs("10.0.0.1:6881", "10.0.0.2:6882", "10.0.0.1:6881", "10.0.0.3:0")
	})
	c, _ := testClient(time.Second)
	req := testRequest()
	copy(req.InfoHash[:], "\x00\xffinfohashinfohash\x01\x02")
	req.Event, req.IP = Started, netip.MustParseAddr("192.0.2.7")
	r, err := c.Announce(t.Context(), f.url("/announce?passkey=a%2Fb"), req)
	if err != nil {
		t.Fatal(err)
	}
	want := &AnnounceResponse{Interval: 30 * time.Minute, Peers: addrs("10.0.0.1:6881", "10.0.0.2:6882"), Seeders: 2, Leechers: 3}
	if !reflect.DeepEqual(r, want) {
		t.Fatalf("got  %+v\nwant %+v", r, want)
	}
	connects, announces, _ := f.counts()
	if connects != 1 || announces != 1 {
		t.Fatalf("tracker saw %d connects and %d announces, want 1 and 1", connects, announces)
	}
	// What the tracker received, field by field (BEP 15 offsets).
	a := f.announces[0]
	be := binary.BigEndian
	if !bytes.Equal(a[16:36], req.InfoHash[:]) || !bytes.Equal(a[36:56], req.PeerID[:]) ||
		be.Uint64(a[56:]) != 2 || be.Uint64(a[64:]) != 3 || be.Uint64(a[72:]) != 1 || // downloaded, left, uploaded
		be.Uint32(a[80:]) != 2 || // event: started is 2 in BEP 15
		netip.AddrFrom4([4]byte(a[84:88])) != req.IP || be.Uint32(a[88:]) != 0xbeef ||
		be.Uint32(a[92:]) != 50 || be.Uint16(a[96:]) != 6881 {
		t.Fatalf("announce request fields wrong: %x", a[:98])
	}
	// BEP 41: the path and query follow as URL data options.
	if got, want := string(a[98:]), "\x02\x17/announce?passkey=a%2Fb"; got != want {
		t.Fatalf("URL data option %q, want %q", got, want)
	}
}

func TestUDPAnnounceRequestDefaults(t *testing.T) {
	f := newFakeUDP(t, "udp4")
	c, _ := testClient(time.Second)
	req := testRequest()
	req.NumWant, req.IP = 0, netip.MustParseAddr("2001:db8::1") // no IPv6 field in BEP 15
	if _, err := c.Announce(t.Context(), f.url(""), req); err != nil {
		t.Fatal(err)
	}
	long := "/" + strings.Repeat("p", 300) // split over two URL data options
	for _, ev := range []Event{Completed, Stopped, None} {
		req.Event = ev
		if _, err := c.Announce(t.Context(), f.url(long), req); err != nil {
			t.Fatal(err)
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	be := binary.BigEndian
	a := f.announces[0]
	if len(a) != 98 || be.Uint32(a[80:]) != 0 || be.Uint32(a[84:]) != 0 || int32(be.Uint32(a[92:])) != -1 {
		t.Fatalf("defaults: %d bytes, event %d, ip %x, num_want %d", len(a), be.Uint32(a[80:]), a[84:88], int32(be.Uint32(a[92:])))
	}
	for i, ev := range []uint32{1, 3, 0} {
		if got := be.Uint32(f.announces[i+1][80:]); got != ev {
			t.Errorf("event code %d, want %d", got, ev)
		}
	}
	opts := f.announces[1][98:]
	if want := "\x02\xff" + long[:255] + "\x02\x2e" + long[255:]; string(opts) != want {
		t.Fatalf("long URL data %q", opts)
	}
}

func TestUDPConnectionIDReuseAndExpiry(t *testing.T) {
	f := newFakeUDP(t, "udp4")
	c, clock := testClient(time.Second)
	ih := [][20]byte{{1, 2, 3}}
	announce := func() {
		t.Helper()
		if _, err := c.Announce(t.Context(), f.url("/announce"), testRequest()); err != nil {
			t.Fatal(err)
		}
	}
	announce()
	clock.advance(30 * time.Second)
	announce()
	if _, err := c.Scrape(t.Context(), f.url("/announce"), ih); err != nil {
		t.Fatal(err)
	}
	if connects, announces, scrapes := f.counts(); connects != 1 || announces != 2 || scrapes != 1 {
		t.Fatalf("within a minute: %d connects, %d announces, %d scrapes; want 1, 2, 1", connects, announces, scrapes)
	}
	clock.advance(30 * time.Second) // the ID is now a minute old
	announce()
	if connects, _, _ := f.counts(); connects != 2 {
		t.Fatalf("after a minute: %d connects, want 2", connects)
	}
	// A tracker that forgot our ID (restarted, say) answers with an
	// error; the client reconnects once instead of failing.
	f.set(func(f *fakeUDP) { clear(f.ids) })
	announce()
	if connects, announces, _ := f.counts(); connects != 3 || announces != 4 {
		t.Fatalf("after the tracker forgot the ID: %d connects, %d announces; want 3, 4", connects, announces)
	}
}

func TestUDPRetransmits(t *testing.T) {
	const base = 100 * time.Millisecond
	f := newFakeUDP(t, "udp4")
	dropped := map[uint32]int{}
	f.set(func(f *fakeUDP) {
		f.mutate = func(action uint32, req, reply []byte) [][]byte {
			if dropped[action] == 0 { // drop the first connect and the first announce
				dropped[action]++
				return nil
			}
			return [][]byte{reply}
		}
	})
	c, _ := testClient(base)
	start := time.Now()
	if _, err := c.Announce(t.Context(), f.url("/announce"), testRequest()); err != nil {
		t.Fatal(err)
	}
	// The first wait is base, the second 2·base.
	if d := time.Since(start); d < 3*base {
		t.Fatalf("answered after %v; the two retransmissions should have waited %v and %v", d, base, 2*base)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	// At least: on a loaded machine a slow reply can cause one more.
	if dropped[actionConnect] != 1 || dropped[actionAnnounce] != 1 || f.connects < 2 || len(f.announces) < 2 {
		t.Fatalf("tracker saw %d connects, %d announces; want 2 of each, the first dropped", f.connects, len(f.announces))
	}
}

func TestUDPConnectionIDExpiresDuringRetransmits(t *testing.T) {
	f := newFakeUDP(t, "udp4")
	c, clock := testClient(200 * time.Millisecond)
	drops := 0
	f.set(func(f *fakeUDP) {
		f.mutate = func(action uint32, req, reply []byte) [][]byte {
			if action == actionAnnounce && drops == 0 {
				drops++
				clock.advance(time.Minute) // the ID expires while we wait
				return nil
			}
			return [][]byte{reply}
		}
	})
	if _, err := c.Announce(t.Context(), f.url("/announce"), testRequest()); err != nil {
		t.Fatal(err)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.connects != 2 || len(f.announces) != 2 {
		t.Fatalf("%d connects, %d announces; want a reconnect before the retransmission", f.connects, len(f.announces))
	}
	if binary.BigEndian.Uint64(f.announces[0]) == binary.BigEndian.Uint64(f.announces[1]) {
		t.Fatal("the retransmission reused the expired connection ID")
	}
}

func TestUDPTimeout(t *testing.T) {
	f := newFakeUDP(t, "udp4")
	f.set(func(f *fakeUDP) { f.mutate = func(uint32, []byte, []byte) [][]byte { return nil } })
	c, _ := testClient(10 * time.Millisecond)
	c.udpRetries = 3
	start := time.Now()
	_, err := c.Announce(t.Context(), f.url("/announce?passkey=SECRET"), testRequest())
	if !errors.Is(err, ErrTimeout) || strings.Contains(err.Error(), "SECRET") || !strings.Contains(err.Error(), f.url("/announce")) {
		t.Fatalf("got %v, want ErrTimeout naming the tracker without its query", err)
	}
	if d := time.Since(start); d < 150*time.Millisecond { // 10+20+40+80 ms
		t.Fatalf("gave up after %v, before the schedule's 150 ms", d)
	}
}

func TestUDPErrorAction(t *testing.T) {
	f := newFakeUDP(t, "udp4")
	c, _ := testClient(time.Second)
	for _, action := range []uint32{actionConnect, actionAnnounce} {
		f.set(func(f *fakeUDP) {
			f.mutate = func(a uint32, req, reply []byte) [][]byte {
				if a != action {
					return [][]byte{reply}
				}
				return [][]byte{append(append([]byte{0, 0, 0, 3}, req[12:16]...), "torrent not registered\x00"...)}
			}
		})
		c.mu.Lock()
		c.conns = nil // connect afresh
		c.mu.Unlock()
		_, err := c.Announce(t.Context(), f.url("/announce"), testRequest())
		var fe *FailureError
		if !errors.As(err, &fe) || fe.Reason != "torrent not registered" {
			t.Fatalf("error reply to action %d: got %v, want *FailureError", action, err)
		}
	}
}

func TestUDPIgnoresStrayDatagrams(t *testing.T) {
	f := newFakeUDP(t, "udp4")
	other, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	f.set(func(f *fakeUDP) {
		f.mutate = func(action uint32, req, reply []byte) [][]byte {
			// A forged reply from another address, with the right
			// transaction ID: dropped by the connected socket or by our
			// address check.
			forged := append([]byte(nil), reply...)
			if action == actionAnnounce {
				binary.BigEndian.PutUint32(forged[16:], 999) // seeders
			}
			other.WriteToUDPAddrPort(forged, f.lastFrom)
			wrongTx := append([]byte(nil), reply...)
			wrongTx[7] ^= 1
			short := reply[:5]
			return [][]byte{wrongTx, short, reply}
		}
	})
	c, _ := testClient(5 * time.Second) // a retransmission would show
	start := time.Now()
	r, err := c.Announce(t.Context(), f.url("/announce"), testRequest())
	if err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("took %v: strays should be skipped, not waited out", d)
	}
	if r.Seeders != 2 {
		t.Fatalf("got %+v", r)
	}
	if connects, announces, _ := f.counts(); connects != 1 || announces != 1 {
		t.Fatalf("%d connects, %d announces: nothing should have been resent", connects, announces)
	}
}

func TestUDPTruncatedReplies(t *testing.T) {
	for _, tc := range []struct {
		name    string
		action  uint32
		mangle  func([]byte) []byte
		mention string
	}{
		{"connect 12 bytes", actionConnect, func(b []byte) []byte { return b[:12] }, "connect reply truncated: 12 bytes"},
		{"connect wrong action", actionConnect, func(b []byte) []byte { b[3] = 1; return b }, "action 1, want 0"},
		{"announce 19 bytes", actionAnnounce, func(b []byte) []byte { return b[:19] }, "announce reply truncated: 19 bytes"},
		{"announce half a peer", actionAnnounce, func(b []byte) []byte { return append(b, 1, 2, 3) }, "peer list of 3 bytes is not a multiple of 6"},
		{"announce as scrape", actionAnnounce, func(b []byte) []byte { b[3] = 2; return b }, "action 2, want 1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeUDP(t, "udp4")
			f.set(func(f *fakeUDP) {
				f.mutate = func(action uint32, req, reply []byte) [][]byte {
					if action == tc.action {
						reply = tc.mangle(reply)
					}
					return [][]byte{reply}
				}
			})
			c, _ := testClient(time.Second)
			_, err := c.Announce(t.Context(), f.url("/announce?passkey=SECRET"), testRequest())
			if !errors.Is(err, ErrBadResponse) || !strings.Contains(err.Error(), tc.mention) ||
				!strings.Contains(err.Error(), f.url("/announce")) || strings.Contains(err.Error(), "SECRET") {
				t.Fatalf("got %v, want ErrBadResponse mentioning %q and the tracker", err, tc.mention)
			}
		})
	}
}

func TestUDPContextCancel(t *testing.T) {
	f := newFakeUDP(t, "udp4")
	f.set(func(f *fakeUDP) { f.mutate = func(uint32, []byte, []byte) [][]byte { return nil } })
	c := NewClient(Options{}) // the real 15 s timeout
	ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := c.Announce(ctx, f.url("/announce"), testRequest())
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("got %v, want context.DeadlineExceeded", err)
	}
	if d := time.Since(start); d > time.Second {
		t.Fatalf("Announce took %v after its context ended", d)
	}
	// Cancelled while waiting for the announce reply, after connecting.
	f.set(func(f *fakeUDP) {
		f.mutate = func(action uint32, req, reply []byte) [][]byte {
			if action == actionScrape {
				return nil
			}
			return [][]byte{reply}
		}
	})
	ctx, cancel = context.WithCancel(t.Context())
	time.AfterFunc(100*time.Millisecond, cancel)
	start = time.Now()
	if _, err := c.Scrape(ctx, f.url("/announce"), [][20]byte{{1}}); !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v, want context.Canceled", err)
	}
	if d := time.Since(start); d > time.Second {
		t.Fatalf("Scrape took %v after its context ended", d)
	}
	// Already done: nothing is sent.
	if _, err := c.Announce(ctx, f.url("/announce"), testRequest()); !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v, want context.Canceled", err)
	}
}

func TestUDPIPv6(t *testing.T) {
	f := newFakeUDP(t, "udp6")
	f.set(func(f *fakeUDP) { f.peers = addrs("[2001:db8::1]:6881", "[::ffff:10.0.0.1]:80", "[::1]:0") })
	c, _ := testClient(time.Second)
	r, err := c.Announce(t.Context(), f.url("/announce"), testRequest())
	if err != nil {
		t.Fatal(err)
	}
	if want := addrs("[2001:db8::1]:6881", "10.0.0.1:80"); !reflect.DeepEqual(r.Peers, want) {
		t.Fatalf("peers %v, want %v", r.Peers, want)
	}
}

func TestUDPScrape(t *testing.T) {
	f := newFakeUDP(t, "udp4")
	c, _ := testClient(time.Second)
	var hashes [][20]byte
	for i := range 80 { // two requests: 74 and 6
		hashes = append(hashes, [20]byte{byte(i), byte(i + 1), byte(i + 2), 0xff})
	}
	got, err := c.Scrape(t.Context(), f.url("/announce"), hashes)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 80 {
		t.Fatalf("%d results, want 80", len(got))
	}
	for i, h := range hashes {
		if want := (ScrapeResult{Seeders: i, Completed: i + 1, Leechers: i + 2}); got[h] != want {
			t.Fatalf("hash %d: %+v, want %+v", i, got[h], want)
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.scrapes) != 2 || len(f.scrapes[0]) != 16+74*20 || len(f.scrapes[1]) != 16+6*20 {
		t.Fatalf("%d scrape requests", len(f.scrapes))
	}
	if _, err := c.Scrape(t.Context(), f.url(""), nil); !errors.Is(err, ErrBadRequest) {
		t.Fatalf("scrape of nothing: %v", err)
	}
}

func TestUDPBadURLAndRequest(t *testing.T) {
	c, _ := testClient(time.Second)
	req := testRequest()
	req.Left = -1
	f := newFakeUDP(t, "udp4")
	if _, err := c.Announce(t.Context(), f.url(""), req); !errors.Is(err, ErrBadRequest) {
		t.Fatalf("got %v", err)
	}
	if connects, _, _ := f.counts(); connects != 0 {
		t.Fatal("a bad request was sent")
	}
	if _, err := c.Announce(t.Context(), "udp://nonexistent.invalid:6969/announce", testRequest()); err == nil ||
		!strings.HasPrefix(err.Error(), "tracker: ") {
		t.Fatalf("unresolvable host: %v", err)
	}
}

func TestPackageAnnounceUDP(t *testing.T) {
	f := newFakeUDP(t, "udp4")
	if _, err := Announce(t.Context(), nil, f.url("/announce"), testRequest()); err != nil {
		t.Fatal(err)
	}
}

func TestUDPConcurrent(t *testing.T) {
	f := newFakeUDP(t, "udp4")
	c, _ := testClient(time.Second)
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for i := range 8 {
		wg.Go(func() {
			req := testRequest()
			req.InfoHash[0] = byte(i)
			if _, err := c.Announce(t.Context(), f.url("/announce"), req); err != nil {
				errs <- err
			}
			if _, err := c.Scrape(t.Context(), f.url("/announce"), [][20]byte{req.InfoHash}); err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if connects, announces, scrapes := f.counts(); connects < 1 || connects > 8 || announces != 8 || scrapes != 8 {
		t.Fatalf("%d connects, %d announces, %d scrapes", connects, announces, scrapes)
	}
}
