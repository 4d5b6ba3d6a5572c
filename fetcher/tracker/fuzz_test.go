package tracker

import (
	"errors"
	"net/netip"
	"testing"
)

func FuzzParseAnnounceResponse(f *testing.F) {
	for _, s := range []string{
		"d8:intervali1800e5:peers12:\x0a\x00\x00\x01\x1a\xe1\x0a\x00\x00\x02\x1a\xe2e",
		"d8:completei5e10:incompletei7e8:intervali60e12:min intervali30e5:peers0:6:peers618:\x20\x01\x0d\xb8\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x01\x1a\xe1e",
		"d8:intervali900e5:peersld2:ip8:10.1.2.37:peer id20:-XX0001-0000000000004:porti6881eed2:ip11:2001:db8::74:porti1eeee",
		"d14:failure reason17:torrent not founde",
		"d15:warning message7:be nice10:tracker id3:abc8:intervali-5e5:peers0:e",
		"d8:intervali99999999999999999e5:peers6:\x00\x00\x00\x00\x00\x00e\n",
		"d5:peers7:abcdefge",
		"li1ee",
		"<html>",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		r, err := ParseAnnounceResponse(body)
		if err != nil {
			var fe *FailureError
			if !errors.As(err, &fe) && !errors.Is(err, ErrBadResponse) {
				t.Fatalf("error of unexpected kind: %v", err)
			}
			return
		}
		if r.Interval < MinAllowedInterval || r.Interval > MaxAllowedInterval {
			t.Fatalf("interval %v out of range", r.Interval)
		}
		if r.MinInterval != 0 && (r.MinInterval < MinAllowedInterval || r.MinInterval > MaxAllowedInterval) {
			t.Fatalf("min interval %v out of range", r.MinInterval)
		}
		if r.Seeders < 0 || r.Leechers < 0 {
			t.Fatalf("negative counts %d %d", r.Seeders, r.Leechers)
		}
		seen := map[netip.AddrPort]bool{}
		for _, p := range r.Peers {
			if !p.IsValid() || p.Port() == 0 || p.Addr().IsUnspecified() || p.Addr().Is4In6() || p.Addr().Zone() != "" || seen[p] {
				t.Fatalf("bad or duplicate peer %v", p)
			}
			seen[p] = true
		}
	})
}
