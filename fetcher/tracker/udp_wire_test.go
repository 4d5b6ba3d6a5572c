package tracker

import (
	"encoding/binary"
	"errors"
	"net/netip"
	"reflect"
	"strings"
	"testing"
	"time"
)

// udpReply builds a reply datagram: action, txid 7, then body.
func udpReply(action uint32, body ...byte) []byte {
	b := binary.BigEndian.AppendUint32(nil, action)
	b = binary.BigEndian.AppendUint32(b, 7)
	return append(b, body...)
}

func TestParseUDPConnect(t *testing.T) {
	id, err := parseUDPConnect(udpReply(actionConnect, 1, 2, 3, 4, 5, 6, 7, 8))
	if err != nil || id != 0x0102030405060708 {
		t.Fatalf("got %x %v", id, err)
	}
	_, err = parseUDPConnect(udpReply(actionError, []byte("go away")...))
	var fe *FailureError
	if !errors.As(err, &fe) || fe.Reason != "go away" {
		t.Fatalf("error reply: got %v", err)
	}
	for _, b := range [][]byte{nil, {0, 0, 0}, udpReply(actionConnect, 1, 2, 3), udpReply(actionAnnounce, 1, 2, 3, 4, 5, 6, 7, 8)} {
		if _, err := parseUDPConnect(b); !errors.Is(err, ErrBadResponse) {
			t.Errorf("%x: got %v", b, err)
		}
	}
}

func TestParseUDPAnnounce(t *testing.T) {
	head := []byte{0, 0, 0, 60, 0, 0, 0, 4, 0xff, 0xff, 0xff, 0xff} // interval 60, 4 leechers, -1 seeders
	b := udpReply(actionAnnounce, append(head, 10, 0, 0, 1, 0x1a, 0xe1, 10, 0, 0, 2, 0, 0)...)
	r, err := parseUDPAnnounce(b, false)
	if err != nil {
		t.Fatal(err)
	}
	want := &AnnounceResponse{Interval: time.Minute, Leechers: 4, Peers: []netip.AddrPort{netip.MustParseAddrPort("10.0.0.1:6881")}}
	if !reflect.DeepEqual(r, want) {
		t.Fatalf("got %+v, want %+v", r, want)
	}
	// The same 12 peer bytes are not a whole IPv6 peer.
	if _, err := parseUDPAnnounce(b, true); !errors.Is(err, ErrBadResponse) || !strings.Contains(err.Error(), "not a multiple of 18") {
		t.Fatalf("IPv6: got %v", err)
	}
	// Interval 0 or negative: the default; huge: the maximum.
	for iv, want := range map[uint32]time.Duration{0: DefaultInterval, 0x80000000: DefaultInterval, 0x7fffffff: MaxAllowedInterval, 1: MinAllowedInterval} {
		b := udpReply(actionAnnounce, binary.BigEndian.AppendUint32(nil, iv)...)
		b = append(b, make([]byte, 8)...)
		if r, err := parseUDPAnnounce(b, false); err != nil || r.Interval != want {
			t.Errorf("interval %d: got %v %v, want %v", iv, r, err, want)
		}
	}
}

func TestParseUDPScrape(t *testing.T) {
	b := udpReply(actionScrape, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 0, 0, 1, 0)
	rs, err := parseUDPScrape(b, 2)
	if err != nil {
		t.Fatal(err)
	}
	if want := []ScrapeResult{{1, 2, 3}, {0, 0, 256}}; !reflect.DeepEqual(rs, want) {
		t.Fatalf("got %v, want %v", rs, want)
	}
	for _, n := range []int{1, 3} {
		if _, err := parseUDPScrape(b, n); !errors.Is(err, ErrBadResponse) {
			t.Errorf("asked %d: got %v", n, err)
		}
	}
	if _, err := parseUDPScrape(b[:30], 2); !errors.Is(err, ErrBadResponse) {
		t.Errorf("truncated: got %v", err)
	}
}
