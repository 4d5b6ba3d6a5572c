package tracker

import (
	"encoding/binary"
	"errors"
	"net"
	"net/netip"
	"sync"
	"testing"
	"time"
)

// fakeUDP is a BEP 15 tracker for tests, serving on loopback from a
// goroutine that the test's cleanup stops and waits for.
type fakeUDP struct {
	pc   *net.UDPConn
	addr netip.AddrPort

	mu        sync.Mutex // guards everything below
	ids       map[uint64]bool
	nextID    uint64
	connects  int      // connect requests answered
	announces [][]byte // announce requests seen, in order
	scrapes   [][]byte // scrape requests seen
	peers     []netip.AddrPort
	lastFrom  netip.AddrPort // sender of the request being answered
	// mutate, if set, decides what is sent for each request: it gets the
	// request's action and the reply the tracker would send, and returns
	// the datagrams to send instead (none drops the request).
	mutate func(action uint32, req, reply []byte) [][]byte
}

// newFakeUDP serves on network ("udp4" or "udp6") loopback.
func newFakeUDP(t *testing.T, network string) *fakeUDP {
	t.Helper()
	ip := "127.0.0.1"
	if network == "udp6" {
		ip = "::1"
	}
	pc, err := net.ListenUDP(network, net.UDPAddrFromAddrPort(netip.AddrPortFrom(netip.MustParseAddr(ip), 0)))
	if err != nil {
		if network == "udp6" {
			t.Skipf("no IPv6 loopback: %v", err)
		}
		t.Fatal(err)
	}
	f := &fakeUDP{pc: pc, addr: pc.LocalAddr().(*net.UDPAddr).AddrPort(), ids: map[uint64]bool{}, nextID: 0x1122334455667788}
	done := make(chan struct{})
	go func() {
		defer close(done)
		f.serve()
	}()
	t.Cleanup(func() {
		pc.Close()
		<-done
	})
	return f
}

// url is the tracker's announce URL with path and query appended.
func (f *fakeUDP) url(pathQuery string) string { return "udp://" + f.addr.String() + pathQuery }

func (f *fakeUDP) serve() {
	buf := make([]byte, 65535)
	for {
		n, from, err := f.pc.ReadFromUDPAddrPort(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		req := append([]byte(nil), buf[:n]...)
		f.mu.Lock()
		f.lastFrom = from
		action, reply := f.answer(req)
		out := [][]byte{reply}
		if f.mutate != nil {
			out = f.mutate(action, req, reply)
		}
		f.mu.Unlock()
		for _, d := range out {
			f.pc.WriteToUDPAddrPort(d, from)
		}
	}
}

// answer is the tracker's reply to req. Called with mu held.
func (f *fakeUDP) answer(req []byte) (action uint32, reply []byte) {
	if len(req) < 16 {
		return 99, nil
	}
	connID := binary.BigEndian.Uint64(req)
	action = binary.BigEndian.Uint32(req[8:])
	txid := binary.BigEndian.Uint32(req[12:])
	hdr := func(a uint32) []byte {
		return binary.BigEndian.AppendUint32(binary.BigEndian.AppendUint32(nil, a), txid)
	}
	if action == actionConnect {
		if connID != udpProtocolID {
			return action, append(hdr(actionError), "bad protocol id"...)
		}
		f.connects++
		f.nextID++
		f.ids[f.nextID] = true
		return action, binary.BigEndian.AppendUint64(hdr(actionConnect), f.nextID)
	}
	if !f.ids[connID] {
		return action, append(hdr(actionError), "unknown connection id"...)
	}
	switch action {
	case actionAnnounce:
		f.announces = append(f.announces, req)
		r := hdr(actionAnnounce)
		r = binary.BigEndian.AppendUint32(r, 1800) // interval
		r = binary.BigEndian.AppendUint32(r, 3)    // leechers
		r = binary.BigEndian.AppendUint32(r, 2)    // seeders
		for _, p := range f.peers {
			r = append(r, p.Addr().AsSlice()...)
			r = binary.BigEndian.AppendUint16(r, p.Port())
		}
		return action, r
	case actionScrape:
		f.scrapes = append(f.scrapes, req)
		r := hdr(actionScrape)
		for h := req[16:]; len(h) >= 20; h = h[20:] {
			// Counts derived from the hash, so the test can check them.
			r = binary.BigEndian.AppendUint32(r, uint32(h[0]))
			r = binary.BigEndian.AppendUint32(r, uint32(h[1]))
			r = binary.BigEndian.AppendUint32(r, uint32(h[2]))
		}
		return action, r
	}
	return action, append(hdr(actionError), "unknown action"...)
}

func (f *fakeUDP) counts() (connects, announces, scrapes int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.connects, len(f.announces), len(f.scrapes)
}

func (f *fakeUDP) set(fn func(f *fakeUDP)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fn(f)
}

// fakeClock is a settable clock for connection ID lifetimes.
type fakeClock struct {
	mu sync.Mutex // guards t
	t  time.Time
}

func (c *fakeClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// testClient returns a Client with a fake clock and the given base
// timeout.
func testClient(base time.Duration) (*Client, *fakeClock) {
	clock := &fakeClock{t: time.Unix(1_700_000_000, 0)}
	c := NewClient(Options{})
	c.udpTimeout = base
	c.now = clock.now
	return c, clock
}
