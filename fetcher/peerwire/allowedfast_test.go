package peerwire

import (
	"net/netip"
	"slices"
	"testing"
)

func TestAllowedFastSetBEP6Vectors(t *testing.T) {
	// BEP 6: 1313 pieces, info hash of 20 0xaa bytes, peer 80.4.4.200.
	var ih [20]byte
	for i := range ih {
		ih[i] = 0xaa
	}
	ip := netip.MustParseAddr("80.4.4.200")
	if got, want := AllowedFastSet(ip, ih, 1313, 7), []uint32{1059, 431, 808, 1217, 287, 376, 1188}; !slices.Equal(got, want) {
		t.Fatalf("k=7: got %v, want %v", got, want)
	}
	if got, want := AllowedFastSet(ip, ih, 1313, 9), []uint32{1059, 431, 808, 1217, 287, 376, 1188, 353, 508}; !slices.Equal(got, want) {
		t.Fatalf("k=9: got %v, want %v", got, want)
	}
	// Same /24, same set; mapped IPv4 is IPv4.
	if got := AllowedFastSet(netip.MustParseAddr("::ffff:80.4.4.1"), ih, 1313, 7); !slices.Equal(got, []uint32{1059, 431, 808, 1217, 287, 376, 1188}) {
		t.Fatalf("same /24 via mapped address: %v", got)
	}
}

func TestAllowedFastSetEdges(t *testing.T) {
	var ih [20]byte
	ip := netip.MustParseAddr("10.0.0.1")
	if AllowedFastSet(ip, ih, 0, 10) != nil || AllowedFastSet(ip, ih, 10, 0) != nil ||
		AllowedFastSet(netip.Addr{}, ih, 10, 10) != nil {
		t.Fatal("degenerate inputs should give nil")
	}
	// Fewer pieces than k: every piece, each once.
	got := AllowedFastSet(ip, ih, 5, 10)
	slices.Sort(got)
	if !slices.Equal(got, []uint32{0, 1, 2, 3, 4}) {
		t.Fatalf("5 pieces, k=10: %v", got)
	}
	v6 := AllowedFastSet(netip.MustParseAddr("2001:db8:1:2::1"), ih, 1000, 10)
	same := AllowedFastSet(netip.MustParseAddr("2001:db8:1:ffff::2"), ih, 1000, 10)
	if len(v6) != 10 || !slices.Equal(v6, same) {
		t.Fatalf("IPv6 /48 sets differ: %v %v", v6, same)
	}
	for _, p := range v6 {
		if p >= 1000 {
			t.Fatalf("index %d out of range", p)
		}
	}
}
