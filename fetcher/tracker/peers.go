package tracker

import (
	"encoding/binary"
	"net/netip"
	"strings"
)

// parsePeers collects the peers of an announce reply: "peers" as a compact
// string or a list of dictionaries, and "peers6" as a compact string.
func parsePeers(d map[string]any) ([]netip.AddrPort, error) {
	var c collector
	switch p := d["peers"].(type) {
	case nil: // absent: a tracker may send only peers6
	case string:
		if len(p)%6 != 0 {
			return nil, badResponse(`compact "peers" is %d bytes, not a multiple of 6`, len(p))
		}
		for i := 0; i < len(p); i += 6 {
			var a [4]byte
			copy(a[:], p[i:])
			c.add(netip.AddrFrom4(a), binary.BigEndian.Uint16([]byte(p[i+4:i+6])))
		}
	case []any:
		for _, e := range p {
			c.addDict(e)
		}
	default:
		return nil, badResponse(`"peers" is %s, not a string or list`, typeName(p))
	}
	if v, ok := d["peers6"]; ok {
		p, ok := v.(string)
		if !ok {
			return nil, badResponse(`"peers6" is %s, not a string`, typeName(v))
		}
		if len(p)%18 != 0 {
			return nil, badResponse(`compact "peers6" is %d bytes, not a multiple of 18`, len(p))
		}
		for i := 0; i < len(p); i += 18 {
			var a [16]byte
			copy(a[:], p[i:])
			c.add(netip.AddrFrom16(a), binary.BigEndian.Uint16([]byte(p[i+16:i+18])))
		}
	}
	return c.peers, nil
}

// collector accumulates distinct, usable peers.
type collector struct {
	peers []netip.AddrPort
	seen  map[netip.AddrPort]struct{}
}

func (c *collector) add(a netip.Addr, port uint16) {
	a = a.Unmap()
	if port == 0 || !a.IsValid() || a.IsUnspecified() {
		return
	}
	ap := netip.AddrPortFrom(a, port)
	if c.seen == nil {
		c.seen = map[netip.AddrPort]struct{}{}
	}
	if _, dup := c.seen[ap]; dup {
		return
	}
	c.seen[ap] = struct{}{}
	c.peers = append(c.peers, ap)
}

// addDict adds one entry of the dictionary form, {"ip": "1.2.3.4",
// "port": 6881, "peer id": ...}. Entries that are not usable (not a
// dictionary, a host name rather than an address, a zone, a port out of
// range) are skipped: one bad entry should not lose the others.
func (c *collector) addDict(e any) {
	m, ok := e.(map[string]any)
	if !ok {
		return
	}
	ip, ok := m["ip"].(string)
	if !ok {
		return
	}
	port, ok := m["port"].(int64)
	if !ok || port <= 0 || port > 65535 {
		return
	}
	a, err := netip.ParseAddr(strings.TrimSpace(ip))
	if err != nil || a.Zone() != "" {
		return
	}
	c.add(a, uint16(port))
}
