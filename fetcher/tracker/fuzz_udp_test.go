package tracker

import (
	"encoding/binary"
	"errors"
	"net/netip"
	"testing"
)

// checkParseError fails t unless err is of a kind the parsers promise.
func checkParseError(t *testing.T, err error) {
	t.Helper()
	var fe *FailureError
	if !errors.As(err, &fe) && !errors.Is(err, ErrBadResponse) {
		t.Fatalf("error of unexpected kind: %v", err)
	}
}

func FuzzParseUDPConnect(f *testing.F) {
	f.Add(udpReply(actionConnect, 1, 2, 3, 4, 5, 6, 7, 8))
	f.Add(udpReply(actionConnect, 1, 2, 3))
	f.Add(udpReply(actionError, []byte("bad\x00")...))
	f.Add(udpReply(actionAnnounce, make([]byte, 12)...))
	f.Add([]byte{0, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		id, err := parseUDPConnect(b)
		if err != nil {
			checkParseError(t, err)
			return
		}
		if len(b) < 16 || id != binary.BigEndian.Uint64(b[8:]) || binary.BigEndian.Uint32(b) != actionConnect {
			t.Fatalf("accepted %x as connection ID %x", b, id)
		}
	})
}

func FuzzParseUDPAnnounce(f *testing.F) {
	head := []byte{0, 0, 0, 60, 0, 0, 0, 4, 0, 0, 0, 2}
	f.Add(udpReply(actionAnnounce, append(head, 10, 0, 0, 1, 0x1a, 0xe1, 10, 0, 0, 1, 0x1a, 0xe1)...), false)
	f.Add(udpReply(actionAnnounce, append(head, netip.MustParseAddr("2001:db8::1").AsSlice()...)...), true)
	f.Add(udpReply(actionAnnounce, append(head, 0, 0, 0, 0, 0, 0, 1)...), false)
	f.Add(udpReply(actionAnnounce, head[:7]...), false)
	f.Add(udpReply(actionError, []byte("torrent not registered")...), false)
	f.Add(udpReply(actionScrape, head...), true)
	f.Fuzz(func(t *testing.T, b []byte, ipv6 bool) {
		r, err := parseUDPAnnounce(b, ipv6)
		if err != nil {
			checkParseError(t, err)
			return
		}
		size := 6
		if ipv6 {
			size = 18
		}
		if len(b) < 20 || (len(b)-20)%size != 0 || len(r.Peers) > (len(b)-20)/size {
			t.Fatalf("accepted %d bytes with %d peers", len(b), len(r.Peers))
		}
		if r.Interval < MinAllowedInterval || r.Interval > MaxAllowedInterval || r.Seeders < 0 || r.Leechers < 0 {
			t.Fatalf("out of range: %+v", r)
		}
		seen := map[netip.AddrPort]bool{}
		for _, p := range r.Peers {
			if !p.IsValid() || p.Port() == 0 || p.Addr().IsUnspecified() || p.Addr().Is4In6() || seen[p] {
				t.Fatalf("bad or duplicate peer %v", p)
			}
			seen[p] = true
		}
	})
}

func FuzzParseUDPScrape(f *testing.F) {
	f.Add(udpReply(actionScrape, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3), 1)
	f.Add(udpReply(actionScrape, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 2, 0, 0, 0, 3, 1, 2), 1)
	f.Add(udpReply(actionScrape), 0)
	f.Add(udpReply(actionError, []byte("no")...), 74)
	f.Fuzz(func(t *testing.T, b []byte, n int) {
		if n < 0 || n > udpMaxScrape {
			return // the caller never asks for these
		}
		rs, err := parseUDPScrape(b, n)
		if err != nil {
			checkParseError(t, err)
			return
		}
		if len(rs) != n || len(b) != 8+12*n {
			t.Fatalf("accepted %d bytes as %d results for %d hashes", len(b), len(rs), n)
		}
		for _, r := range rs {
			if r.Seeders < 0 || r.Completed < 0 || r.Leechers < 0 {
				t.Fatalf("negative count %+v", r)
			}
		}
	})
}

func FuzzParseScrapeResponse(f *testing.F) {
	ih := "\x00\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c\x0d\x0e\x0f\x10\x11\x12\x13"
	for _, s := range []string{
		"d5:filesd20:" + ih + "d8:completei5e10:downloadedi50e10:incompletei10eee",
		"d5:filesd20:" + ih + "d8:completei-1eee5:flagsd20:min_request_intervali3600eee",
		"d5:filesdee",
		"d14:failure reason8:disablede",
		"d5:filesd3:abcdeee",
		"d5:filesd20:" + ih + "i1eee",
		"de",
		"<html>",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		r, err := ParseScrapeResponse(body)
		if err != nil {
			checkParseError(t, err)
			return
		}
		for _, v := range r {
			if v.Seeders < 0 || v.Completed < 0 || v.Leechers < 0 {
				t.Fatalf("negative count %+v", v)
			}
		}
	})
}
