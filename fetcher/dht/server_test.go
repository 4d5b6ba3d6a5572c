package dht

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/torrentfs/torrentfs/internal/leakcheck"
	"github.com/torrentfs/torrentfs/internal/testbytes"
)

func TestMain(m *testing.M) { leakcheck.Main(m) }

// network starts n servers on loopback, each bootstrapped from the first,
// and closes them at the end of the test.
func network(t *testing.T, n int) []*Server {
	t.Helper()
	var ss []*Server
	for i := range n {
		s, err := Listen("127.0.0.1:0", Options{ID: id(uint64(100 + i)), QueryTimeout: 500 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		ss = append(ss, s)
	}
	ctx := context.Background()
	for _, s := range ss[1:] {
		if err := s.Bootstrap(ctx, []string{ss[0].Addr().String()}); err != nil {
			t.Fatalf("bootstrap: %v", err)
		}
	}
	return ss
}

// TestAnnounceThenFind: a node announces a torrent; another, which never
// talked to it, finds it through the network.
func TestAnnounceThenFind(t *testing.T) {
	defer leakcheck.Check(t)()
	ss := network(t, 16)
	ctx := context.Background()
	ih := id(7)
	if _, err := ss[5].Announce(ctx, ih, 4242); err != nil {
		t.Fatalf("announce: %v", err)
	}
	if _, err := ss[9].Announce(ctx, ih, 0); err != nil { // implied port: its DHT port
		t.Fatalf("announce: %v", err)
	}
	peers, err := ss[12].GetPeers(ctx, ih)
	if err != nil {
		t.Fatalf("get_peers: %v", err)
	}
	for _, want := range []netip.AddrPort{
		netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), 4242),
		ss[9].Addr(),
	} {
		if !slices.Contains(peers, want) {
			t.Errorf("peers %v lack %v", peers, want)
		}
	}
	if peers, err := ss[3].GetPeers(ctx, id(8)); err != nil || len(peers) != 0 {
		t.Errorf("peers of a torrent nobody announced: %v, %v", peers, err)
	}
	for i, s := range ss {
		if s.Nodes() == 0 {
			t.Errorf("node %d knows no nodes", i)
		}
	}
}

// rawQuery sends b to s from a fresh socket and returns the reply, if any
// comes within a short while; it sends again a few times (UDP may drop a
// datagram when the server's queue is full).
func rawQuery(t *testing.T, s *Server, b []byte) *msg {
	t.Helper()
	c, err := net.DialUDP("udp4", nil, net.UDPAddrFromAddrPort(s.Addr()))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	buf := make([]byte, maxDatagram)
	for range 5 {
		if _, err := c.Write(b); err != nil {
			t.Fatal(err)
		}
		c.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
		n, err := c.Read(buf)
		if err != nil {
			continue
		}
		m, err := decode(buf[:n])
		if err != nil {
			t.Fatalf("reply %q: %v", buf[:n], err)
		}
		return m
	}
	return nil
}

// TestAnnounceNeedsOurToken: announce_peer with a token we did not give
// that address is refused and stores nothing.
func TestAnnounceNeedsOurToken(t *testing.T) {
	defer leakcheck.Check(t)()
	ss := network(t, 2)
	ih := id(9)
	q := &msg{T: "x1", Y: "q", Q: "announce_peer", ID: id(1), InfoHash: ih, Port: 1234, Token: "forged"}
	b, _ := q.encode()
	r := rawQuery(t, ss[0], b)
	if r == nil || r.Y != "e" || r.Code != codeProtocol {
		t.Fatalf("forged token answered %+v, want error %d", r, codeProtocol)
	}
	if peers, _ := ss[1].GetPeers(context.Background(), ih); len(peers) != 0 {
		t.Errorf("the forged announce was stored: %v", peers)
	}
}

// TestGarbageDoesNotHurt: random datagrams and malformed queries are
// dropped or answered with a protocol error, and the node goes on
// answering.
func TestGarbageDoesNotHurt(t *testing.T) {
	defer leakcheck.Check(t)()
	ss := network(t, 2)
	c, err := net.DialUDP("udp4", nil, net.UDPAddrFromAddrPort(ss[0].Addr()))
	if err != nil {
		t.Fatal(err)
	}
	for i := range 200 {
		c.Write(testbytes.Bytes(uint64(i), 1+i*37%1400))
	}
	c.Close()
	if r := rawQuery(t, ss[0], []byte("d1:ad2:id3:abce1:t2:zz1:y1:q1:q4:pinge")); r == nil || r.Y != "e" || r.Code != codeProtocol || r.T != "zz" {
		t.Errorf("malformed ping answered %+v, want protocol error for transaction zz", r)
	}
	q := &msg{T: "u1", Y: "q", Q: "vote", ID: id(1)}
	b, _ := q.encode()
	if r := rawQuery(t, ss[0], b); r == nil || r.Code != codeMethod {
		t.Errorf("unknown method answered %+v, want error %d", r, codeMethod)
	}
	if _, err := ss[1].Ping(context.Background(), ss[0].Addr()); err != nil {
		t.Fatalf("ping after garbage: %v", err)
	}
}

// TestQueryTimesOutAndCloses: a query to a silent address fails after the
// query timeout, marks nothing it did not know, and Close ends queries in
// flight.
func TestQueryTimesOutAndCloses(t *testing.T) {
	defer leakcheck.Check(t)()
	silent, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	to := silent.LocalAddr().(*net.UDPAddr).AddrPort()
	s, err := Listen("127.0.0.1:0", Options{QueryTimeout: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Ping(context.Background(), to); !errors.Is(err, errQueryTimeout) {
		t.Errorf("ping of a silent address = %v, want a timeout", err)
	}
	if err := s.Bootstrap(context.Background(), []string{to.String()}); err == nil {
		t.Errorf("bootstrap from a silent node succeeded")
	}
	s2, err := Listen("127.0.0.1:0", Options{QueryTimeout: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error)
	go func() { _, err := s2.Ping(context.Background(), to); done <- err }()
	time.Sleep(50 * time.Millisecond)
	s2.Close()
	if err := <-done; !errors.Is(err, ErrClosed) {
		t.Errorf("ping across Close = %v, want ErrClosed", err)
	}
	s.Close()
	if _, err := s.GetPeers(context.Background(), id(1)); !errors.Is(err, ErrNoNodes) {
		t.Errorf("get_peers with an empty table = %v, want ErrNoNodes", err)
	}
}

// TestRunJoinsWhenTheNetworkComesBack: Run keeps trying to bootstrap while
// its bootstrap node is down, and joins once it is up.
func TestRunJoinsWhenTheNetworkComesBack(t *testing.T) {
	defer leakcheck.Check(t)()
	hold, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	boot := hold.LocalAddr().(*net.UDPAddr)
	hold.Close() // nobody answers there until we listen again below

	s, err := Listen("127.0.0.1:0", Options{QueryTimeout: 100 * time.Millisecond, rejoinMin: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx, cancel := context.WithCancel(context.Background())
	reports := make(chan error, 100)
	done := make(chan struct{})
	go func() {
		defer close(done)
		s.Run(ctx, []string{boot.String()}, func(err error) {
			select {
			case reports <- err:
			default:
			}
		})
	}()
	defer func() { cancel(); <-done }()
	if err := <-reports; err == nil {
		t.Fatalf("bootstrap from a node that is down succeeded")
	}
	conn, err := net.ListenUDP("udp4", boot)
	if err != nil {
		t.Skipf("cannot listen on %v again: %v", boot, err)
	}
	b := New(conn, Options{})
	defer b.Close()
	deadline := time.After(10 * time.Second)
	for {
		select {
		case err := <-reports:
			if err == nil && s.Nodes() > 0 {
				return
			}
		case <-deadline:
			t.Fatalf("not joined 10 s after the bootstrap node came up")
		}
	}
}
