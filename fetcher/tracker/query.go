package tracker

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"
)

// announceURL returns the full announce URL for req: base's own query (a
// private tracker's passkey, say) is kept byte for byte, and the announce
// parameters follow it.
func announceURL(base *url.URL, req *AnnounceRequest) (string, error) {
	if err := req.validate(); err != nil {
		return "", err
	}
	var q strings.Builder
	q.WriteString("info_hash=")
	appendEscaped(&q, req.InfoHash[:])
	q.WriteString("&peer_id=")
	appendEscaped(&q, req.PeerID[:])
	q.WriteString("&port=" + strconv.FormatUint(uint64(req.Port), 10))
	q.WriteString("&uploaded=" + strconv.FormatInt(req.Uploaded, 10))
	q.WriteString("&downloaded=" + strconv.FormatInt(req.Downloaded, 10))
	q.WriteString("&left=" + strconv.FormatInt(req.Left, 10))
	q.WriteString("&compact=1")
	if req.NumWant > 0 {
		q.WriteString("&numwant=" + strconv.Itoa(req.NumWant))
	}
	q.WriteString(fmt.Sprintf("&key=%08x", req.Key))
	if req.IP.IsValid() {
		q.WriteString("&ip=")
		appendEscaped(&q, []byte(req.IP.Unmap().String()))
	}
	if req.Event != None {
		q.WriteString("&event=" + req.Event.String())
	}
	return withQuery(base, q.String()), nil
}

// withQuery returns base with params appended to its own query, which is
// kept byte for byte, and without its fragment.
func withQuery(base *url.URL, params string) string {
	u := *base
	u.Fragment, u.RawFragment = "", ""
	u.ForceQuery = false
	if existing := strings.TrimSuffix(u.RawQuery, "&"); existing != "" {
		u.RawQuery = existing + "&" + params
	} else {
		u.RawQuery = params
	}
	return u.String()
}

// validate checks the fields every tracker protocol needs.
func (req *AnnounceRequest) validate() error {
	if req.Uploaded < 0 || req.Downloaded < 0 || req.Left < 0 {
		return fmt.Errorf("%w: negative byte count (uploaded %d, downloaded %d, left %d)",
			ErrBadRequest, req.Uploaded, req.Downloaded, req.Left)
	}
	if !req.Event.valid() {
		return fmt.Errorf("%w: undefined event %d", ErrBadRequest, int(req.Event))
	}
	return nil
}

// appendEscaped percent-encodes every byte of b except the RFC 3986
// unreserved characters, so any of the 256 byte values survives the trip.
func appendEscaped(sb *strings.Builder, b []byte) {
	const hex = "0123456789ABCDEF"
	for _, c := range b {
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
			c == '-' || c == '.' || c == '_' || c == '~' {
			sb.WriteByte(c)
			continue
		}
		sb.WriteByte('%')
		sb.WriteByte(hex[c>>4])
		sb.WriteByte(hex[c&15])
	}
}
