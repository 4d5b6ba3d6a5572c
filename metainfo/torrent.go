// Package metainfo reads, validates and writes .torrent files (BEP 3, with
// BEP 12 announce lists, BEP 19 web seeds, BEP 27 private torrents and
// BEP 47 padding files), and holds the strict bencode codec they use.
//
// Everything here treats its input as untrusted: malformed input gives an
// error (a *SyntaxError for bad bencode, otherwise one matching ErrInvalid)
// and never a panic.
package metainfo

import (
	"crypto/sha1"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"
)

// MaxTorrentFileSize is the largest .torrent ReadFile reads.
const MaxTorrentFileSize = 128 << 20

// InfoHash is the SHA-1 of a torrent's bencoded info dictionary.
type InfoHash [20]byte

// String returns the info hash as 40 lowercase hex digits.
func (h InfoHash) String() string { return hex.EncodeToString(h[:]) }

// MetaInfo is a parsed .torrent file.
type MetaInfo struct {
	Info         *Info
	InfoHash     InfoHash // SHA-1 of the raw info dictionary bytes as they appear in the file
	InfoBytes    []byte   // those raw bytes
	Announce     string
	AnnounceList [][]string // tiers (BEP 12): no empty URLs or tiers, no URL twice
	URLList      []string   // web seeds (BEP 19): no empty URLs, no URL twice
	Comment      string
	CreatedBy    string
	CreationDate time.Time // zero if absent
}

// Parse parses and validates a .torrent file. The whole input must be one
// bencoded dictionary. The info dictionary is validated strictly; the
// fields around it (announce, comment, ...) only describe the torrent, so a
// field there with the wrong type is ignored rather than rejected.
func Parse(data []byte) (*MetaInfo, error) {
	v, spans, err := decodeWithSpans(data)
	if err != nil {
		return nil, err
	}
	top, ok := v.(map[string]any)
	if !ok {
		return nil, invalidf("top level is not a dictionary")
	}
	iv, ok := top["info"]
	if !ok {
		return nil, invalidf("info is missing")
	}
	id, ok := iv.(map[string]any)
	if !ok {
		return nil, invalidf("info is not a dictionary")
	}
	info, err := parseInfo(id)
	if err != nil {
		return nil, err
	}
	sp := spans["info"]
	m := &MetaInfo{
		Info:      info,
		InfoBytes: slices.Clone(data[sp.start:sp.end]),
	}
	m.InfoHash = sha1.Sum(m.InfoBytes)

	m.Announce, _ = top["announce"].(string)
	m.Announce = strings.TrimSpace(m.Announce)
	m.AnnounceList = parseAnnounceList(top["announce-list"])
	m.URLList = parseURLList(top["url-list"])
	m.Comment = metaString(top, "comment")
	m.CreatedBy = metaString(top, "created by")
	if t, ok := top["creation date"].(int64); ok && t > 0 {
		m.CreationDate = time.Unix(t, 0).UTC()
	}
	return m, nil
}

// ReadFile reads and parses the .torrent file at path.
func ReadFile(path string) (*MetaInfo, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("metainfo: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxTorrentFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("metainfo: %w", err)
	}
	if len(data) > MaxTorrentFileSize {
		return nil, invalidf("%s: larger than %d bytes", path, MaxTorrentFileSize)
	}
	return Parse(data)
}

// Trackers returns the announce-list tiers if there are any, else
// [[Announce]] if it is set, else nil. The result is a copy.
func (m *MetaInfo) Trackers() [][]string {
	if len(m.AnnounceList) > 0 {
		out := make([][]string, len(m.AnnounceList))
		for i, t := range m.AnnounceList {
			out[i] = slices.Clone(t)
		}
		return out
	}
	if m.Announce != "" {
		return [][]string{{m.Announce}}
	}
	return nil
}

// metaString reads key+".utf-8" if it is a string, else key if it is one.
func metaString(d map[string]any, key string) string {
	if s, ok := d[key+".utf-8"].(string); ok {
		return s
	}
	s, _ := d[key].(string)
	return s
}

// parseAnnounceList keeps the well-formed part of a BEP 12 announce-list:
// tiers that are lists, URLs that are non-empty strings, each URL only in
// the first tier it appears in, and no empty tiers.
func parseAnnounceList(v any) [][]string {
	tiers, _ := v.([]any)
	seen := map[string]bool{}
	var out [][]string
	for _, tv := range tiers {
		urls, _ := tv.([]any)
		var tier []string
		for _, uv := range urls {
			u, _ := uv.(string)
			u = strings.TrimSpace(u)
			if u == "" || seen[u] {
				continue
			}
			seen[u] = true
			tier = append(tier, u)
		}
		if len(tier) > 0 {
			out = append(out, tier)
		}
	}
	return out
}

// parseURLList reads a BEP 19 url-list, which is a string or a list of
// strings, dropping empty and repeated URLs.
func parseURLList(v any) []string {
	var in []any
	switch v := v.(type) {
	case string:
		in = []any{v}
	case []any:
		in = v
	}
	seen := map[string]bool{}
	var out []string
	for _, uv := range in {
		u, _ := uv.(string)
		u = strings.TrimSpace(u)
		if u == "" || seen[u] {
			continue
		}
		seen[u] = true
		out = append(out, u)
	}
	return out
}
