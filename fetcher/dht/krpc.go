package dht

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"

	"github.com/torrentfs/torrentfs/metainfo"
)

// KRPC (BEP 5): every message is a bencoded dictionary with a transaction
// ID "t" and a type "y": "q" (query: method "q", arguments "a"), "r"
// (response: "r") or "e" (error: [code, message]).

// maxValues bounds how many peers one get_peers response may carry (a
// response must fit a datagram anyway; this bounds what we keep of one).
const maxValues = 200

// ErrMalformed is wrapped by every error decode returns.
var ErrMalformed = errors.New("dht: malformed message")

// KRPC error codes.
const (
	codeGeneric  = 201
	codeProtocol = 203
	codeMethod   = 204
)

// msg is one KRPC message, decoded.
type msg struct {
	T string // transaction ID
	Y string // "q", "r" or "e"

	// Queries.
	Q        string   // method
	ID       [20]byte // the sender's node ID ("a" or "r" dictionary)
	Target   [20]byte // find_node
	InfoHash [20]byte // get_peers, announce_peer
	Port     int      // announce_peer
	Implied  bool     // announce_peer: use the datagram's source port
	Token    string   // get_peers response, announce_peer query

	// Responses.
	Nodes  []node           // compact node info ("nodes")
	Values []netip.AddrPort // get_peers: peers ("values")

	// Errors.
	Code int
	Text string
}

// node is a DHT node: its ID and address.
type node struct {
	ID   [20]byte
	Addr netip.AddrPort
}

// encode bencodes m.
func (m *msg) encode() ([]byte, error) {
	d := map[string]any{"t": m.T, "y": m.Y}
	switch m.Y {
	case "q":
		d["q"] = m.Q
		a := map[string]any{"id": string(m.ID[:])}
		switch m.Q {
		case "find_node":
			a["target"] = string(m.Target[:])
		case "get_peers":
			a["info_hash"] = string(m.InfoHash[:])
		case "announce_peer":
			a["info_hash"] = string(m.InfoHash[:])
			a["port"] = m.Port
			a["token"] = m.Token
			if m.Implied {
				a["implied_port"] = 1
			}
		}
		d["a"] = a
	case "r":
		r := map[string]any{"id": string(m.ID[:])}
		if m.Nodes != nil {
			r["nodes"] = string(compactNodes(m.Nodes))
		}
		if m.Token != "" {
			r["token"] = m.Token
		}
		if len(m.Values) > 0 {
			vs := make([]any, len(m.Values))
			for i, v := range m.Values {
				vs[i] = string(compactPeer(v))
			}
			r["values"] = vs
		}
		d["r"] = r
	case "e":
		d["e"] = []any{m.Code, m.Text}
	default:
		return nil, fmt.Errorf("dht: encode: message type %q", m.Y)
	}
	return metainfo.Encode(d)
}

// decode parses one datagram. Fields a message type does not use are
// ignored; fields it needs must be present and well formed.
func decode(b []byte) (*msg, error) {
	v, err := metainfo.Decode(b)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	d, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("%w: not a dictionary", ErrMalformed)
	}
	m := &msg{}
	if m.T, ok = d["t"].(string); !ok || len(m.T) > 32 {
		return nil, fmt.Errorf("%w: no transaction ID", ErrMalformed)
	}
	if m.Y, ok = d["y"].(string); !ok {
		return nil, fmt.Errorf("%w: no message type", ErrMalformed)
	}
	switch m.Y {
	case "q":
		return m, m.decodeQuery(d)
	case "r":
		return m, m.decodeResponse(d)
	case "e":
		l, ok := d["e"].([]any)
		if !ok || len(l) < 2 {
			return nil, fmt.Errorf("%w: error without [code, message]", ErrMalformed)
		}
		code, ok1 := l[0].(int64)
		text, ok2 := l[1].(string)
		if !ok1 || !ok2 {
			return nil, fmt.Errorf("%w: error without [code, message]", ErrMalformed)
		}
		m.Code, m.Text = int(code), text
		return m, nil
	default:
		return nil, fmt.Errorf("%w: message type %q", ErrMalformed, m.Y)
	}
}

func (m *msg) decodeQuery(d map[string]any) error {
	var ok bool
	if m.Q, ok = d["q"].(string); !ok {
		return fmt.Errorf("%w: query without a method", ErrMalformed)
	}
	a, ok := d["a"].(map[string]any)
	if !ok {
		return fmt.Errorf("%w: query without arguments", ErrMalformed)
	}
	if err := id20(a, "id", &m.ID); err != nil {
		return err
	}
	switch m.Q {
	case "find_node":
		return id20(a, "target", &m.Target)
	case "get_peers":
		return id20(a, "info_hash", &m.InfoHash)
	case "announce_peer":
		if err := id20(a, "info_hash", &m.InfoHash); err != nil {
			return err
		}
		if m.Token, ok = a["token"].(string); !ok {
			return fmt.Errorf("%w: announce_peer without a token", ErrMalformed)
		}
		if ip, ok := a["implied_port"].(int64); ok && ip != 0 {
			m.Implied = true
		}
		port, ok := a["port"].(int64)
		if !m.Implied && (!ok || port <= 0 || port > 65535) {
			return fmt.Errorf("%w: announce_peer with port %v", ErrMalformed, a["port"])
		}
		m.Port = int(port)
	}
	return nil
}

func (m *msg) decodeResponse(d map[string]any) error {
	r, ok := d["r"].(map[string]any)
	if !ok {
		return fmt.Errorf("%w: response without a body", ErrMalformed)
	}
	if err := id20(r, "id", &m.ID); err != nil {
		return err
	}
	if s, ok := r["nodes"].(string); ok {
		nodes, err := parseNodes(s)
		if err != nil {
			return err
		}
		m.Nodes = nodes
	}
	if t, ok := r["token"].(string); ok {
		m.Token = t
	}
	if vs, ok := r["values"].([]any); ok {
		for _, v := range vs[:min(len(vs), maxValues)] {
			s, ok := v.(string)
			if !ok || len(s) != 6 {
				return fmt.Errorf("%w: a peer in values is not 6 bytes", ErrMalformed)
			}
			if p, ok := parsePeer([]byte(s)); ok {
				m.Values = append(m.Values, p)
			}
		}
	}
	return nil
}

// id20 reads a 20-byte string field of d into dst.
func id20(d map[string]any, key string, dst *[20]byte) error {
	s, ok := d[key].(string)
	if !ok || len(s) != 20 {
		return fmt.Errorf("%w: %q is not 20 bytes", ErrMalformed, key)
	}
	copy(dst[:], s)
	return nil
}

// parseNodes parses compact node info: 26 bytes a node (ID, IPv4, port).
// Nodes with port 0 are dropped.
func parseNodes(s string) ([]node, error) {
	if len(s)%26 != 0 {
		return nil, fmt.Errorf("%w: nodes of %d bytes, not a multiple of 26", ErrMalformed, len(s))
	}
	out := make([]node, 0, len(s)/26)
	for i := 0; i < len(s); i += 26 {
		var n node
		copy(n.ID[:], s[i:i+20])
		p, ok := parsePeer([]byte(s[i+20 : i+26]))
		if !ok {
			continue
		}
		n.Addr = p
		out = append(out, n)
	}
	return out, nil
}

// parsePeer parses a compact IPv4 address and port; ok is false for port 0
// or an unspecified address.
func parsePeer(b []byte) (netip.AddrPort, bool) {
	addr := netip.AddrFrom4([4]byte(b[:4]))
	port := binary.BigEndian.Uint16(b[4:6])
	if port == 0 || addr.IsUnspecified() {
		return netip.AddrPort{}, false
	}
	return netip.AddrPortFrom(addr, port), true
}

func compactPeer(a netip.AddrPort) []byte {
	b := make([]byte, 6)
	ip := a.Addr().Unmap().As4()
	copy(b, ip[:])
	binary.BigEndian.PutUint16(b[4:], a.Port())
	return b
}

func compactNodes(ns []node) []byte {
	b := make([]byte, 0, 26*len(ns))
	for _, n := range ns {
		if !n.Addr.Addr().Unmap().Is4() {
			continue
		}
		b = append(b, n.ID[:]...)
		b = append(b, compactPeer(n.Addr)...)
	}
	return b
}
