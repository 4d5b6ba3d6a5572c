package peerwire

import (
	"crypto/sha1"
	"encoding/binary"
	"net/netip"
	"slices"
)

// AllowedFastSet returns the k pieces (fewer if the torrent has fewer) a
// peer at ip may request while choked, by the canonical algorithm of BEP 6:
// hash the peer's /24 network with the info hash, and take successive
// 32-bit words of repeated SHA-1s modulo numPieces, skipping repeats.
//
// BEP 6 defines the algorithm for IPv4 only. An IPv4-mapped IPv6 address
// is treated as IPv4; for other IPv6 addresses this uses the /48 prefix
// (16 bytes, the rest zeroed) in place of the 4 IPv4 bytes, as libtorrent
// does. An invalid address or numPieces <= 0 or k <= 0 gives nil.
func AllowedFastSet(ip netip.Addr, infoHash [20]byte, numPieces, k int) []uint32 {
	if !ip.IsValid() || numPieces <= 0 || k <= 0 {
		return nil
	}
	k = min(k, numPieces)
	ip = ip.Unmap()
	var x []byte
	if ip.Is4() {
		a := ip.As4()
		a[3] = 0
		x = append(x, a[:]...)
	} else {
		a := ip.As16()
		clear(a[6:])
		x = append(x, a[:]...)
	}
	x = append(x, infoHash[:]...)
	set := make([]uint32, 0, k)
	for len(set) < k {
		h := sha1.Sum(x)
		x = h[:]
		for i := 0; i < 5 && len(set) < k; i++ {
			idx := binary.BigEndian.Uint32(h[i*4:]) % uint32(numPieces)
			if !slices.Contains(set, idx) {
				set = append(set, idx)
			}
		}
	}
	return set
}
