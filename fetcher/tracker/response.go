package tracker

import (
	"fmt"
	"net/netip"
	"time"

	"github.com/torrentfs/torrentfs/metainfo"
)

// Interval limits applied to what trackers ask for.
const (
	// DefaultInterval is used when a reply has no interval, or one <= 0.
	DefaultInterval = 30 * time.Minute
	// MinAllowedInterval and MaxAllowedInterval bound Interval and
	// MinInterval: a tracker cannot make us announce more often than every
	// 5 seconds, or postpone announcing by more than 6 hours.
	MinAllowedInterval = 5 * time.Second
	MaxAllowedInterval = 6 * time.Hour
)

// AnnounceResponse is a tracker's successful reply.
type AnnounceResponse struct {
	Interval    time.Duration // always within [MinAllowedInterval, MaxAllowedInterval]
	MinInterval time.Duration // 0 if the tracker sent none; else clamped like Interval
	// Peers from the compact IPv4 list (BEP 23), the compact IPv6 list
	// "peers6" (BEP 7) and the dictionary list, in that order of the reply,
	// without duplicates, IPv4-mapped addresses unmapped, and with entries
	// of port 0 or an unspecified address dropped.
	Peers             []netip.AddrPort
	Seeders, Leechers int // "complete" and "incomplete"; 0 if absent
	TrackerID         string
	Warning           string // "warning message"
}

// ParseAnnounceResponse parses the bencoded body of an announce reply. A
// "failure reason" gives a *FailureError; a malformed reply gives an
// error wrapping ErrBadResponse (or a *metainfo.SyntaxError for bencode
// that does not parse) naming the problem. A known key with the wrong type
// is an error; unknown keys are ignored.
func ParseAnnounceResponse(body []byte) (*AnnounceResponse, error) {
	v, n, err := metainfo.DecodePrefix(body)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadResponse, err)
	}
	for _, c := range body[n:] { // some trackers end the reply with a newline
		if c != ' ' && c != '\t' && c != '\r' && c != '\n' {
			return nil, badResponse("%d bytes of trailing data after the reply", len(body)-n)
		}
	}
	d, ok := v.(map[string]any)
	if !ok {
		return nil, badResponse("reply is %s, not a dictionary", typeName(v))
	}
	if f, ok := d["failure reason"]; ok {
		s, ok := f.(string)
		if !ok {
			return nil, badResponse(`"failure reason" is %s, not a string`, typeName(f))
		}
		return nil, &FailureError{Reason: s}
	}
	r := &AnnounceResponse{}
	if r.Warning, err = optString(d, "warning message"); err != nil {
		return nil, err
	}
	if r.TrackerID, err = optString(d, "tracker id"); err != nil {
		return nil, err
	}
	iv, ok, err := optInt(d, "interval")
	if err != nil {
		return nil, err
	}
	r.Interval = DefaultInterval
	if ok && iv > 0 {
		r.Interval = clampInterval(iv)
	}
	if iv, ok, err = optInt(d, "min interval"); err != nil {
		return nil, err
	} else if ok && iv > 0 {
		r.MinInterval = clampInterval(iv)
	}
	if n, _, err := optInt(d, "complete"); err != nil {
		return nil, err
	} else {
		r.Seeders = clampCount(n)
	}
	if n, _, err := optInt(d, "incomplete"); err != nil {
		return nil, err
	} else {
		r.Leechers = clampCount(n)
	}
	if r.Peers, err = parsePeers(d); err != nil {
		return nil, err
	}
	return r, nil
}

// clampInterval turns seconds into a duration within the allowed range,
// without overflowing.
func clampInterval(secs int64) time.Duration {
	if secs >= int64(MaxAllowedInterval/time.Second) {
		return MaxAllowedInterval
	}
	return max(time.Duration(secs)*time.Second, MinAllowedInterval)
}

func clampCount(n int64) int {
	return int(max(0, min(n, 1<<31-1)))
}

func optString(d map[string]any, key string) (string, error) {
	v, ok := d[key]
	if !ok {
		return "", nil
	}
	s, ok := v.(string)
	if !ok {
		return "", badResponse("%q is %s, not a string", key, typeName(v))
	}
	return s, nil
}

func optInt(d map[string]any, key string) (int64, bool, error) {
	v, ok := d[key]
	if !ok {
		return 0, false, nil
	}
	n, ok := v.(int64)
	if !ok {
		return 0, false, badResponse("%q is %s, not an integer", key, typeName(v))
	}
	return n, true, nil
}

func typeName(v any) string {
	switch v.(type) {
	case int64:
		return "an integer"
	case string:
		return "a string"
	case []any:
		return "a list"
	case map[string]any:
		return "a dictionary"
	}
	return "a value of unknown type"
}
