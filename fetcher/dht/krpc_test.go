package dht

import (
	"errors"
	"net/netip"
	"reflect"
	"testing"

	"github.com/torrentfs/torrentfs/internal/testbytes"
)

func id(n uint64) [20]byte { return [20]byte(testbytes.Bytes(n, 20)) }

func TestMessagesRoundTrip(t *testing.T) {
	peer := netip.MustParseAddrPort("10.1.2.3:6881")
	nodes := []node{{id(1), netip.MustParseAddrPort("127.0.0.2:1000")}, {id(2), netip.MustParseAddrPort("192.0.2.7:65535")}}
	for _, m := range []*msg{
		{T: "aa", Y: "q", Q: "ping", ID: id(3)},
		{T: "ab", Y: "q", Q: "find_node", ID: id(3), Target: id(4)},
		{T: "ac", Y: "q", Q: "get_peers", ID: id(3), InfoHash: id(5)},
		{T: "ad", Y: "q", Q: "announce_peer", ID: id(3), InfoHash: id(5), Port: 51413, Token: "tok"},
		{T: "ae", Y: "q", Q: "announce_peer", ID: id(3), InfoHash: id(5), Implied: true, Token: "tok"},
		{T: "af", Y: "r", ID: id(6), Nodes: nodes},
		{T: "ag", Y: "r", ID: id(6), Nodes: nodes, Token: "xyz", Values: []netip.AddrPort{peer}},
		{T: "ah", Y: "e", Code: codeProtocol, Text: "bad"},
	} {
		b, err := m.encode()
		if err != nil {
			t.Fatalf("%+v: encode: %v", m, err)
		}
		got, err := decode(b)
		if err != nil {
			t.Fatalf("%q: decode: %v", b, err)
		}
		if !reflect.DeepEqual(got, m) {
			t.Errorf("round trip of %q:\n got %+v\nwant %+v", b, got, m)
		}
	}
}

func TestMalformedMessagesNamed(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"le", "not a dictionary"},
		{"d1:y1:qe", "no transaction ID"},
		{"d1:t2:aa1:y1:xe", `message type "x"`},
		{"d1:t2:aa1:y1:q1:q4:pinge", "query without arguments"},
		{"d1:ad2:id3:abce1:t2:aa1:y1:q1:q4:pinge", `"id" is not 20 bytes`},
		{"d1:rd2:id20:aaaaaaaaaaaaaaaaaaaa5:nodes3:abce1:t2:aa1:y1:re", "not a multiple of 26"},
		{"d1:rd2:id20:aaaaaaaaaaaaaaaaaaaa6:valuesl3:abcee1:t2:aa1:y1:re", "not 6 bytes"},
		{"d1:ad2:id20:aaaaaaaaaaaaaaaaaaaa9:info_hash20:bbbbbbbbbbbbbbbbbbbb4:porti0e5:token1:xe1:t2:aa1:y1:q1:q13:announce_peere", "with port 0"},
		{"d1:eli201ee1:t2:aa1:y1:ee", "[code, message]"},
		{"d1:t2:aa", "bencode"},
	} {
		_, err := decode([]byte(tc.in))
		if !errors.Is(err, ErrMalformed) || !contains(err.Error(), tc.want) {
			t.Errorf("decode(%q) = %v, want ErrMalformed naming %q", tc.in, err, tc.want)
		}
	}
}

func contains(s, sub string) bool {
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return true
		}
	}
	return false
}

// FuzzDecode: no datagram makes decode panic, and what it accepts encodes
// and decodes back to the same message.
func FuzzDecode(f *testing.F) {
	for _, m := range []*msg{
		{T: "aa", Y: "q", Q: "ping", ID: id(3)},
		{T: "ad", Y: "q", Q: "announce_peer", ID: id(3), InfoHash: id(5), Port: 51413, Token: "tok"},
		{T: "ag", Y: "r", ID: id(6), Nodes: []node{{id(1), netip.MustParseAddrPort("127.0.0.2:1000")}}, Token: "xyz",
			Values: []netip.AddrPort{netip.MustParseAddrPort("10.0.0.1:1")}},
		{T: "ah", Y: "e", Code: codeGeneric, Text: "x"},
	} {
		b, _ := m.encode()
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := decode(b)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error not wrapping ErrMalformed: %v", err)
			}
			return
		}
		if m.Y == "q" && m.Q != "ping" && m.Q != "find_node" && m.Q != "get_peers" && m.Q != "announce_peer" {
			return // unknown methods carry arguments we do not keep
		}
		if m.Y == "r" && m.Nodes != nil && len(m.Nodes) == 0 {
			m.Nodes = nil // an empty "nodes" string and none encode the same way
		}
		b2, err := m.encode()
		if err != nil {
			t.Fatalf("cannot encode an accepted message %+v: %v", m, err)
		}
		m2, err := decode(b2)
		if err != nil {
			t.Fatalf("re-decode: %v", err)
		}
		if m.Y == "r" && len(m2.Nodes) == 0 {
			m2.Nodes = nil
		}
		if !reflect.DeepEqual(m, m2) {
			t.Fatalf("re-decoded differs:\n%+v\n%+v", m, m2)
		}
	})
}
