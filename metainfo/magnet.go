package metainfo

import (
	"crypto/sha1"
	"encoding/base32"
	"encoding/hex"
	"net/url"
	"strings"
)

// Magnet is a parsed BitTorrent magnet link (BEP 9).
type Magnet struct {
	InfoHash    InfoHash
	DisplayName string   // dn
	Trackers    []string // tr, in order, without empty or repeated URLs
	WebSeeds    []string // ws
	Peers       []string // x.pe, "host:port" as given
}

// ParseMagnet parses a "magnet:?xt=urn:btih:..." URI. The info hash may be
// 40 hex digits or 32 base32 characters, in either case. Errors match
// ErrInvalid.
func ParseMagnet(uri string) (*Magnet, error) {
	u, err := url.Parse(strings.TrimSpace(uri))
	if err != nil {
		return nil, invalidWrap(err, "magnet")
	}
	if !strings.EqualFold(u.Scheme, "magnet") {
		return nil, invalidf("magnet: scheme is %q, not magnet", u.Scheme)
	}
	q, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		return nil, invalidWrap(err, "magnet: query")
	}
	m := &Magnet{}
	found, v2 := false, false
	for _, xt := range q["xt"] {
		lower := strings.ToLower(xt)
		switch {
		case strings.HasPrefix(lower, "urn:btih:"):
			h, err := ParseInfoHash(xt[len("urn:btih:"):])
			if err != nil {
				return nil, invalidWrap(err, "magnet: xt")
			}
			if found && h != m.InfoHash {
				return nil, invalidf("magnet: two different btih info hashes")
			}
			m.InfoHash, found = h, true
		case strings.HasPrefix(lower, "urn:btmh:"):
			v2 = true
		}
	}
	if !found {
		if v2 {
			return nil, invalidf("magnet: only a BitTorrent v2 hash (urn:btmh), which is not supported")
		}
		return nil, invalidf("magnet: no xt=urn:btih: info hash")
	}
	m.DisplayName = q.Get("dn")
	m.Trackers = cleanList(q["tr"])
	m.WebSeeds = cleanList(q["ws"])
	m.Peers = cleanList(q["x.pe"])
	return m, nil
}

// String returns the magnet as a URI with a hex info hash, which
// ParseMagnet reads back to an equal Magnet.
func (m *Magnet) String() string {
	var b strings.Builder
	b.WriteString("magnet:?xt=urn:btih:")
	b.WriteString(m.InfoHash.String())
	add := func(key, v string) {
		b.WriteString("&" + key + "=")
		b.WriteString(url.QueryEscape(v))
	}
	if m.DisplayName != "" {
		add("dn", m.DisplayName)
	}
	for _, v := range m.Trackers {
		add("tr", v)
	}
	for _, v := range m.WebSeeds {
		add("ws", v)
	}
	for _, v := range m.Peers {
		add("x.pe", v)
	}
	return b.String()
}

// Magnet returns a magnet link for the torrent: its info hash, name,
// trackers (all tiers, in order) and web seeds.
func (m *MetaInfo) Magnet() *Magnet {
	mg := &Magnet{InfoHash: m.InfoHash, WebSeeds: cleanList(m.URLList)}
	if m.Info != nil {
		mg.DisplayName = m.Info.Name
	}
	var trackers []string
	for _, tier := range m.Trackers() {
		trackers = append(trackers, tier...)
	}
	mg.Trackers = cleanList(trackers)
	return mg
}

// MetaInfo completes the magnet link with its info dictionary, as fetched
// from peers (BEP 9) or kept from an earlier session. The dictionary must
// hash to the link's info hash. Each tracker becomes a tier of its own,
// tried in order (BEP 12), and web seeds become the url-list. Errors match
// ErrInvalid.
func (m *Magnet) MetaInfo(infoBytes []byte) (*MetaInfo, error) {
	if InfoHash(sha1.Sum(infoBytes)) != m.InfoHash {
		return nil, invalidf("magnet: info dictionary does not hash to %s", m.InfoHash)
	}
	info, err := ParseInfo(infoBytes)
	if err != nil {
		return nil, err
	}
	mi := &MetaInfo{
		Info:      info,
		InfoHash:  m.InfoHash,
		InfoBytes: append([]byte(nil), infoBytes...),
		URLList:   append([]string(nil), m.WebSeeds...),
	}
	for _, u := range m.Trackers {
		mi.AnnounceList = append(mi.AnnounceList, []string{u})
	}
	if len(m.Trackers) > 0 {
		mi.Announce = m.Trackers[0]
	}
	return mi, nil
}

// ParseInfoHash reads an info hash written as 40 hex digits or 32 base32
// characters (either case). Errors match ErrInvalid.
func ParseInfoHash(s string) (InfoHash, error) {
	var h InfoHash
	switch len(s) {
	case 40:
		if _, err := hex.Decode(h[:], []byte(s)); err != nil {
			return InfoHash{}, invalidf("info hash %q is not hex", s)
		}
	case 32:
		n, err := base32.StdEncoding.Decode(h[:], []byte(strings.ToUpper(s)))
		if err != nil || n != 20 {
			return InfoHash{}, invalidf("info hash %q is not base32", s)
		}
	default:
		return InfoHash{}, invalidf("info hash %q has %d characters, want 40 (hex) or 32 (base32)", s, len(s))
	}
	return h, nil
}

// cleanList trims values and drops empty and repeated ones.
func cleanList(in []string) []string {
	var out []string
	seen := map[string]bool{}
	for _, v := range in {
		v = strings.TrimSpace(v)
		if v == "" || seen[v] {
			continue
		}
		seen[v] = true
		out = append(out, v)
	}
	return out
}
