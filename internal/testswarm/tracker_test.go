package testswarm

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/torrentfs/torrentfs/internal/leakcheck"
)

func startTracker(t *testing.T, opts Options) *Tracker {
	t.Helper()
	tr := NewTrackerOptions(nil, opts)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := tr.Start(ctx, "127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := tr.Close(); err != nil {
			t.Error(err)
		}
	})
	return tr
}

// client returns an HTTP client whose connections come from srcIP, so the
// tracker sees that address as the peer's IP.
func client(t *testing.T, srcIP string) *http.Client {
	t.Helper()
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(srcIP)}}
	tr := &http.Transport{DialContext: d.DialContext, DisableKeepAlives: true}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: 5 * time.Second}
}

type reply struct {
	interval int
	peers    []netip.AddrPort
	failure  string
}

func announce(t *testing.T, c *http.Client, base string, ih [20]byte, port int, extra string) reply {
	t.Helper()
	u := fmt.Sprintf("%s?info_hash=%s&peer_id=%s&port=%d&uploaded=0&downloaded=0&left=0&compact=1%s",
		base, url.QueryEscape(string(ih[:])), "-TF0001-abcdefghijkl", port, extra)
	resp, err := c.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return parseReply(t, body)
}

// parseReply understands exactly the two shapes the tracker sends.
func parseReply(t *testing.T, b []byte) reply {
	t.Helper()
	var r reply
	if rest, ok := bytes.CutPrefix(b, []byte("d14:failure reason")); ok {
		s, rest := readString(t, rest)
		if string(rest) != "e" {
			t.Fatalf("trailing bytes in failure reply %q", b)
		}
		r.failure = s
		return r
	}
	rest, ok := bytes.CutPrefix(b, []byte("d8:intervali"))
	if !ok {
		t.Fatalf("unexpected reply %q", b)
	}
	i := bytes.IndexByte(rest, 'e')
	n, err := strconv.Atoi(string(rest[:i]))
	if err != nil {
		t.Fatalf("bad interval in %q", b)
	}
	r.interval = n
	rest, ok = bytes.CutPrefix(rest[i+1:], []byte("5:peers"))
	if !ok {
		t.Fatalf("no peers in %q", b)
	}
	s, rest := readString(t, rest)
	if string(rest) != "e" || len(s)%6 != 0 {
		t.Fatalf("bad peers in %q", b)
	}
	for j := 0; j < len(s); j += 6 {
		a := netip.AddrFrom4([4]byte([]byte(s[j : j+4])))
		r.peers = append(r.peers, netip.AddrPortFrom(a, uint16(s[j+4])<<8|uint16(s[j+5])))
	}
	slices.SortFunc(r.peers, func(a, b netip.AddrPort) int { return a.Compare(b) })
	return r
}

func readString(t *testing.T, b []byte) (string, []byte) {
	t.Helper()
	i := bytes.IndexByte(b, ':')
	if i < 0 {
		t.Fatalf("bad string in %q", b)
	}
	n, err := strconv.Atoi(string(b[:i]))
	if err != nil || i+1+n > len(b) {
		t.Fatalf("bad string length in %q", b)
	}
	return string(b[i+1 : i+1+n]), b[i+1+n:]
}

func ap(s string) netip.AddrPort { return netip.MustParseAddrPort(s) }

func TestAnnounceListsOtherPeers(t *testing.T) {
	t.Cleanup(leakcheck.Check(t)) // runs after the tracker's own Cleanup
	tr := startTracker(t, Options{Interval: 42 * time.Second})
	ih := [20]byte{1, 2, 3}
	other := [20]byte{9}

	r := announce(t, client(t, "127.0.0.2"), tr.URL(), ih, 6881, "&event=started")
	if r.failure != "" || r.interval != 42 || len(r.peers) != 0 {
		t.Fatalf("first announce: %+v, want interval 42 and no peers", r)
	}
	r = announce(t, client(t, "127.0.0.3"), tr.URL(), ih, 7000, "")
	if want := []netip.AddrPort{ap("127.0.0.2:6881")}; !slices.Equal(r.peers, want) {
		t.Fatalf("second announce peers %v, want %v", r.peers, want)
	}
	// A peer of another torrent sees neither.
	r = announce(t, client(t, "127.0.0.4"), tr.URL(), other, 7001, "")
	if len(r.peers) != 0 {
		t.Fatalf("other torrent peers %v, want none", r.peers)
	}
	// The first peer, announcing again, sees only the second.
	r = announce(t, client(t, "127.0.0.2"), tr.URL(), ih, 6881, "")
	if want := []netip.AddrPort{ap("127.0.0.3:7000")}; !slices.Equal(r.peers, want) {
		t.Fatalf("re-announce peers %v, want %v", r.peers, want)
	}
	if got := len(tr.Peers(ih)); got != 2 {
		t.Fatalf("Peers = %d, want 2", got)
	}
}

func TestStoppedRemovesPeer(t *testing.T) {
	t.Cleanup(leakcheck.Check(t)) // runs after the tracker's own Cleanup
	tr := startTracker(t, Options{})
	ih := [20]byte{7}
	announce(t, client(t, "127.0.0.2"), tr.URL(), ih, 1000, "")
	announce(t, client(t, "127.0.0.2"), tr.URL(), ih, 1000, "&event=stopped")
	r := announce(t, client(t, "127.0.0.3"), tr.URL(), ih, 2000, "")
	if len(r.peers) != 0 {
		t.Fatalf("peers %v after event=stopped, want none", r.peers)
	}
}

func TestPeersExpire(t *testing.T) {
	t.Cleanup(leakcheck.Check(t)) // runs after the tracker's own Cleanup
	now := time.Unix(1000, 0)
	clock := make(chan time.Time, 1)
	clock <- now
	tr := startTracker(t, Options{PeerTTL: time.Minute, Now: func() time.Time {
		t := <-clock
		clock <- t
		return t
	}})
	ih := [20]byte{8}
	tr.AddPeer(ih, ap("127.0.0.9:9999")) // injected peers never expire
	announce(t, client(t, "127.0.0.2"), tr.URL(), ih, 1000, "")
	<-clock
	clock <- now.Add(2 * time.Minute)
	r := announce(t, client(t, "127.0.0.3"), tr.URL(), ih, 2000, "")
	if want := []netip.AddrPort{ap("127.0.0.9:9999")}; !slices.Equal(r.peers, want) {
		t.Fatalf("peers %v after TTL, want only the injected %v", r.peers, want)
	}
}

func TestAddPeerAndIPParam(t *testing.T) {
	t.Cleanup(leakcheck.Check(t)) // runs after the tracker's own Cleanup
	tr := startTracker(t, Options{})
	ih := [20]byte{5}
	tr.AddPeer(ih, ap("127.0.0.5:5555"))
	tr.AddPeer(ih, ap("10.1.2.3:80")) // any IP is listed, not only loopback
	// A loopback client may name another loopback IP for itself.
	announce(t, client(t, "127.0.0.1"), tr.URL(), ih, 4000, "&ip=127.0.0.7")
	// A non-loopback ip= is ignored.
	announce(t, client(t, "127.0.0.1"), tr.URL(), ih, 4001, "&ip=8.8.8.8")
	r := announce(t, client(t, "127.0.0.6"), tr.URL(), ih, 6000, "")
	want := []netip.AddrPort{ap("10.1.2.3:80"), ap("127.0.0.1:4001"), ap("127.0.0.5:5555"), ap("127.0.0.7:4000")}
	if !slices.Equal(r.peers, want) {
		t.Fatalf("peers %v, want %v", r.peers, want)
	}
	r = announce(t, client(t, "127.0.0.6"), tr.URL(), ih, 6000, "&numwant=2")
	if len(r.peers) != 2 {
		t.Fatalf("numwant=2 gave %d peers", len(r.peers))
	}
	tr.RemovePeer(ih, ap("10.1.2.3:80"))
	if slices.Contains(tr.Peers(ih), ap("10.1.2.3:80")) {
		t.Fatal("RemovePeer left the peer listed")
	}
}

func TestBadAnnounces(t *testing.T) {
	t.Cleanup(leakcheck.Check(t)) // runs after the tracker's own Cleanup
	tr := startTracker(t, Options{})
	c := client(t, "127.0.0.1")
	for _, q := range []string{
		"",
		"info_hash=short&port=1",
		"info_hash=%01%02%03%04%05%06%07%08%09%0a%0b%0c%0d%0e%0f%10%11%12%13%14&port=0",
		"info_hash=%01%02%03%04%05%06%07%08%09%0a%0b%0c%0d%0e%0f%10%11%12%13%14&port=70000",
		"info_hash=%01%02%03%04%05%06%07%08%09%0a%0b%0c%0d%0e%0f%10%11%12%13%14&port=1&numwant=x",
		"info_hash=%zz",
	} {
		resp, err := c.Get(tr.URL() + "?" + q)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if r := parseReply(t, body); r.failure == "" {
			t.Errorf("query %q: got %q, want a failure reason", q, body)
		}
	}
	if got := tr.Announces(); got != 6 {
		t.Errorf("Announces = %d, want 6", got)
	}
}

func TestStartCloseLifecycle(t *testing.T) {
	t.Cleanup(leakcheck.Check(t)) // runs after the tracker's own Cleanup
	tr := NewTracker(nil)
	if tr.URL() != "" {
		t.Fatal("URL before Start should be empty")
	}
	if err := tr.Start(context.Background(), "127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	if err := tr.Start(context.Background(), "127.0.0.1:0"); err == nil {
		t.Fatal("second Start succeeded")
	}
	url := tr.URL()
	if err := tr.Close(); err != nil {
		t.Fatal(err)
	}
	if err := tr.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if _, err := http.Get(url); err == nil {
		t.Fatal("tracker still serving after Close")
	}
	if err := NewTracker(nil).Close(); err != nil {
		t.Fatalf("Close without Start: %v", err)
	}
}
