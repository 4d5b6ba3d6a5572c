package fetcher

import (
	"encoding/binary"
	"fmt"
	"net/netip"

	"github.com/torrentfs/torrentfs/metainfo"
)

// BEP 11 message limits.
const (
	// pexMaxSend is how many added and how many dropped peers one message
	// of ours carries at most (BEP 11: 50 of each).
	pexMaxSend = 50
	// pexMaxTake is how many added and how many dropped peers we take from
	// one incoming message. Twice what BEP 11 allows: lenient, but bounded.
	pexMaxTake = 100
)

// Flags of an added peer (BEP 11 "added.f"), the ones we set or read.
const (
	pexFlagSeed     byte = 0x02 // the peer is a seed or upload-only
	pexFlagOutgoing byte = 0x10 // the sender connected to it: it is reachable
)

// pexPeer is one peer a ut_pex message reports as added.
type pexPeer struct {
	Addr  netip.AddrPort
	Flags byte
}

// pexMessage is a parsed ut_pex message.
type pexMessage struct {
	Added   []pexPeer        // IPv4 ("added") then IPv6 ("added6"), at most pexMaxTake
	Dropped []netip.AddrPort // IPv4 then IPv6, at most pexMaxTake
}

// parsePEX parses a ut_pex (BEP 11) payload: a bencoded dictionary with
// compact peer lists "added" and "dropped" (6 bytes per IPv4 peer),
// "added6" and "dropped6" (18 bytes per IPv6 peer), and one flags byte per
// added peer in "added.f" and "added6.f".
//
// It is lenient where leniency is harmless and strict where the sender is
// plainly broken:
//   - every field is optional; unknown keys are ignored;
//   - a flags string of the wrong length gives flags where present, 0 after;
//   - entries with port 0 or an address no peer can have (unspecified,
//     multicast, broadcast) are skipped, duplicates are taken once;
//   - at most pexMaxTake added and pexMaxTake dropped peers are taken,
//     the rest of a longer list is ignored;
//   - a payload that is not a bencoded dictionary, a peer list that is not
//     a string, or one whose length is not a multiple of its entry size is
//     a protocol violation: the error wraps errProtocol and the peer is
//     disconnected.
//
// It is a pure function: the caller decides what to do with the peers
// (our own address, for one, is the caller's to drop).
func parsePEX(payload []byte) (pexMessage, error) {
	var msg pexMessage
	v, err := metainfo.Decode(payload)
	if err != nil {
		return msg, fmt.Errorf("%w: ut_pex message: %w", errProtocol, err)
	}
	d, ok := v.(map[string]any)
	if !ok {
		return msg, fmt.Errorf("%w: ut_pex message is not a dictionary", errProtocol)
	}
	field := func(key string, size int) (string, error) {
		x, ok := d[key]
		if !ok {
			return "", nil
		}
		s, ok := x.(string)
		if !ok {
			return "", fmt.Errorf("%w: ut_pex %q is not a string", errProtocol, key)
		}
		if size > 0 && len(s)%size != 0 {
			return "", fmt.Errorf("%w: ut_pex %q is %d bytes, not a multiple of %d", errProtocol, key, len(s), size)
		}
		return s, nil
	}
	seenAdded := map[netip.AddrPort]bool{}
	seenDropped := map[netip.AddrPort]bool{}
	for _, fam := range []struct {
		added, flags, dropped string
		size                  int
	}{{"added", "added.f", "dropped", 6}, {"added6", "added6.f", "dropped6", 18}} {
		added, err := field(fam.added, fam.size)
		if err != nil {
			return pexMessage{}, err
		}
		flags, err := field(fam.flags, 0)
		if err != nil {
			return pexMessage{}, err
		}
		dropped, err := field(fam.dropped, fam.size)
		if err != nil {
			return pexMessage{}, err
		}
		for i := 0; i*fam.size < len(added) && len(msg.Added) < pexMaxTake; i++ {
			a, ok := compactAddr(added[i*fam.size : (i+1)*fam.size])
			if !ok || seenAdded[a] {
				continue
			}
			seenAdded[a] = true
			var f byte
			if i < len(flags) {
				f = flags[i]
			}
			msg.Added = append(msg.Added, pexPeer{Addr: a, Flags: f})
		}
		for i := 0; i*fam.size < len(dropped) && len(msg.Dropped) < pexMaxTake; i++ {
			a, ok := compactAddr(dropped[i*fam.size : (i+1)*fam.size])
			if !ok || seenDropped[a] {
				continue
			}
			seenDropped[a] = true
			msg.Dropped = append(msg.Dropped, a)
		}
	}
	return msg, nil
}

// compactAddr decodes a 6- or 18-byte compact address. It reports false
// for an address no peer can listen on.
func compactAddr(b string) (netip.AddrPort, bool) {
	n := len(b) - 2
	ip, ok := netip.AddrFromSlice([]byte(b[:n]))
	if !ok {
		return netip.AddrPort{}, false
	}
	ip = ip.Unmap()
	port := binary.BigEndian.Uint16([]byte(b[n:]))
	if port == 0 || ip.IsUnspecified() || ip.IsMulticast() || ip == netip.AddrFrom4([4]byte{255, 255, 255, 255}) {
		return netip.AddrPort{}, false
	}
	return netip.AddrPortFrom(ip, port), true
}

// encodePEX builds a ut_pex payload. IPv4-mapped IPv6 addresses go in the
// IPv4 lists. Callers keep each list within pexMaxSend.
func encodePEX(msg pexMessage) []byte {
	var added, addedF, dropped, added6, added6F, dropped6 []byte
	for _, p := range msg.Added {
		ip := p.Addr.Addr().Unmap()
		if ip.Is4() {
			added = appendCompact(added, ip, p.Addr.Port())
			addedF = append(addedF, p.Flags)
		} else {
			added6 = appendCompact(added6, ip, p.Addr.Port())
			added6F = append(added6F, p.Flags)
		}
	}
	for _, a := range msg.Dropped {
		ip := a.Addr().Unmap()
		if ip.Is4() {
			dropped = appendCompact(dropped, ip, a.Port())
		} else {
			dropped6 = appendCompact(dropped6, ip, a.Port())
		}
	}
	b, err := metainfo.Encode(map[string]any{
		"added": added, "added.f": addedF, "dropped": dropped,
		"added6": added6, "added6.f": added6F, "dropped6": dropped6,
	})
	if err != nil {
		panic("fetcher: encoding a ut_pex message: " + err.Error()) // byte strings only
	}
	return b
}

func appendCompact(dst []byte, ip netip.Addr, port uint16) []byte {
	dst = append(dst, ip.AsSlice()...)
	return binary.BigEndian.AppendUint16(dst, port)
}
