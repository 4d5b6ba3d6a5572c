package fetcher

import (
	"bytes"
	"errors"
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/torrentfs/torrentfs/metainfo"
)

func pexPayload(t testing.TB, d map[string]any) []byte {
	t.Helper()
	b, err := metainfo.Encode(d)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func v4(s string) string {
	a := netip.MustParseAddrPort(s)
	return string(appendCompact(nil, a.Addr(), a.Port()))
}

func TestParsePEX(t *testing.T) {
	ap := netip.MustParseAddrPort
	cases := []struct {
		name        string
		in          map[string]any
		added       []pexPeer
		dropped     []netip.AddrPort
		wantProtErr bool
	}{
		{name: "empty dictionary", in: map[string]any{}},
		{
			name: "IPv4 and IPv6 with flags",
			in: map[string]any{
				"added": v4("10.0.0.1:6881") + v4("10.0.0.2:51413"), "added.f": "\x10\x02",
				"added6": v4("[2001:db8::1]:7000"), "added6.f": "\x12",
				"dropped": v4("10.0.0.3:1"), "dropped6": v4("[2001:db8::2]:2"),
			},
			added:   []pexPeer{{ap("10.0.0.1:6881"), 0x10}, {ap("10.0.0.2:51413"), 0x02}, {ap("[2001:db8::1]:7000"), 0x12}},
			dropped: []netip.AddrPort{ap("10.0.0.3:1"), ap("[2001:db8::2]:2")},
		},
		{
			name:  "flags missing or short: zero where absent",
			in:    map[string]any{"added": v4("10.0.0.1:1") + v4("10.0.0.2:2"), "added.f": "\x10"},
			added: []pexPeer{{ap("10.0.0.1:1"), 0x10}, {ap("10.0.0.2:2"), 0}},
		},
		{
			name:  "port 0, unspecified, multicast, broadcast and duplicates are skipped",
			in:    map[string]any{"added": v4("10.0.0.1:0") + v4("0.0.0.0:5") + v4("224.0.0.1:5") + v4("255.255.255.255:5") + v4("10.0.0.9:9") + v4("10.0.0.9:9")},
			added: []pexPeer{{ap("10.0.0.9:9"), 0}},
		},
		{
			name:  "IPv4-mapped IPv6 becomes IPv4",
			in:    map[string]any{"added6": v4("[::ffff:10.1.2.3]:80")},
			added: []pexPeer{{ap("10.1.2.3:80"), 0}},
		},
		{name: "unknown keys ignored", in: map[string]any{"x": int64(1), "added": v4("10.0.0.1:1")}, added: []pexPeer{{ap("10.0.0.1:1"), 0}}},
		{name: "added not a multiple of 6", in: map[string]any{"added": "12345"}, wantProtErr: true},
		{name: "added6 not a multiple of 18", in: map[string]any{"added6": strings.Repeat("x", 19)}, wantProtErr: true},
		{name: "dropped not a multiple of 6", in: map[string]any{"dropped": "1234567"}, wantProtErr: true},
		{name: "added is an integer", in: map[string]any{"added": int64(5)}, wantProtErr: true},
		{name: "flags are a list", in: map[string]any{"added.f": []any{}}, wantProtErr: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			msg, err := parsePEX(pexPayload(t, tc.in))
			if tc.wantProtErr {
				if !errors.Is(err, errProtocol) {
					t.Fatalf("err = %v, want one wrapping errProtocol", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(msg.Added, tc.added) || !slices.Equal(msg.Dropped, tc.dropped) {
				t.Fatalf("got added %v dropped %v, want %v %v", msg.Added, msg.Dropped, tc.added, tc.dropped)
			}
		})
	}
}

func TestParsePEXRejectsNonDictionaries(t *testing.T) {
	for _, in := range []string{"", "i5e", "le", "d5:added", "d5:added6:abcdef", "4:spam", "de trailing"} {
		if _, err := parsePEX([]byte(in)); !errors.Is(err, errProtocol) {
			t.Errorf("parsePEX(%q) = %v, want an error wrapping errProtocol", in, err)
		}
	}
}

func TestParsePEXTakesAtMostMaxTake(t *testing.T) {
	var added, dropped strings.Builder
	for i := range 300 {
		a := netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 0, byte(i >> 8), byte(i)}), 1000)
		added.WriteString(v4(a.String()))
		dropped.WriteString(v4(a.String()))
	}
	msg, err := parsePEX(pexPayload(t, map[string]any{"added": added.String(), "dropped": dropped.String(), "added6": v4("[2001:db8::1]:1")}))
	if err != nil {
		t.Fatal(err)
	}
	if len(msg.Added) != pexMaxTake || len(msg.Dropped) != pexMaxTake {
		t.Fatalf("took %d added and %d dropped of 301 and 300, want %d each", len(msg.Added), len(msg.Dropped), pexMaxTake)
	}
}

func TestEncodePEXRoundTrips(t *testing.T) {
	ap := netip.MustParseAddrPort
	in := pexMessage{
		Added:   []pexPeer{{ap("10.0.0.1:6881"), pexFlagOutgoing}, {ap("[2001:db8::7]:9"), pexFlagSeed}, {ap("10.0.0.2:2"), 0}},
		Dropped: []netip.AddrPort{ap("[2001:db8::8]:10"), ap("10.0.0.3:3")},
	}
	out, err := parsePEX(encodePEX(in))
	if err != nil {
		t.Fatal(err)
	}
	// IPv4 first, then IPv6, each in order.
	wantAdded := []pexPeer{in.Added[0], in.Added[2], in.Added[1]}
	wantDropped := []netip.AddrPort{in.Dropped[1], in.Dropped[0]}
	if !slices.Equal(out.Added, wantAdded) || !slices.Equal(out.Dropped, wantDropped) {
		t.Fatalf("round trip gave %v %v, want %v %v", out.Added, out.Dropped, wantAdded, wantDropped)
	}
	// An empty message is still a valid dictionary with every key.
	d, err := metainfo.Decode(encodePEX(pexMessage{}))
	if err != nil {
		t.Fatal(err)
	}
	if m := d.(map[string]any); len(m) != 6 || m["added"] != "" {
		t.Fatalf("empty message = %v", m)
	}
}

// FuzzParsePEX: untrusted payloads never panic; what parses is within the
// bounds, holds only usable addresses, and survives a round trip.
func FuzzParsePEX(f *testing.F) {
	f.Add([]byte("de"))
	f.Add([]byte("d5:added6:\x0a\x00\x00\x01\x1a\xe17:added.f1:\x10e"))
	f.Add(encodePEX(pexMessage{Added: []pexPeer{{netip.MustParseAddrPort("[2001:db8::1]:80"), 2}}, Dropped: []netip.AddrPort{netip.MustParseAddrPort("1.2.3.4:5")}}))
	f.Add([]byte("d5:added5:12345e"))
	f.Add([]byte("d6:added618:\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\xff\xff\x01\x02\x03\x04\x00\x50e"))
	f.Fuzz(func(t *testing.T, payload []byte) {
		msg, err := parsePEX(payload)
		if err != nil {
			if !errors.Is(err, errProtocol) {
				t.Fatalf("error %v does not wrap errProtocol", err)
			}
			return
		}
		if len(msg.Added) > pexMaxTake || len(msg.Dropped) > pexMaxTake {
			t.Fatalf("took %d added, %d dropped", len(msg.Added), len(msg.Dropped))
		}
		for _, p := range msg.Added {
			if p.Addr.Port() == 0 || !p.Addr.IsValid() || p.Addr.Addr().IsUnspecified() || p.Addr.Addr().Is4In6() {
				t.Fatalf("unusable address %v", p.Addr)
			}
		}
		small := pexMessage{Added: msg.Added[:min(len(msg.Added), pexMaxSend)], Dropped: msg.Dropped[:min(len(msg.Dropped), pexMaxSend)]}
		again, err := parsePEX(encodePEX(small))
		if err != nil {
			t.Fatalf("our own encoding does not parse: %v", err)
		}
		if len(again.Added) != len(small.Added) || len(again.Dropped) != len(small.Dropped) {
			t.Fatalf("round trip lost peers: %v -> %v", small, again)
		}
		if !bytes.Equal(encodePEX(again), encodePEX(small)) {
			t.Fatalf("round trip changed the message")
		}
	})
}
