package tracker

import (
	"fmt"

	"github.com/torrentfs/torrentfs/metainfo"
)

// ParseScrapeResponse parses the bencoded body of an HTTP scrape reply:
// {"files": {<20-byte info hash>: {"complete": n, "downloaded": n,
// "incomplete": n}}}. A "failure reason" gives a *FailureError; a
// malformed reply gives an error wrapping ErrBadResponse naming the
// problem: a key of "files" that is not 20 bytes, an entry that is not a
// dictionary, a count that is not an integer. Missing counts are 0,
// negative ones 0, and unknown keys are ignored.
func ParseScrapeResponse(body []byte) (map[[20]byte]ScrapeResult, error) {
	v, n, err := metainfo.DecodePrefix(body)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadResponse, err)
	}
	for _, c := range body[n:] {
		if c != ' ' && c != '\t' && c != '\r' && c != '\n' {
			return nil, badResponse("%d bytes of trailing data after the scrape reply", len(body)-n)
		}
	}
	d, ok := v.(map[string]any)
	if !ok {
		return nil, badResponse("scrape reply is %s, not a dictionary", typeName(v))
	}
	if f, ok := d["failure reason"]; ok {
		s, ok := f.(string)
		if !ok {
			return nil, badResponse(`"failure reason" is %s, not a string`, typeName(f))
		}
		return nil, &FailureError{Reason: s}
	}
	fv, ok := d["files"]
	if !ok {
		return nil, badResponse(`scrape reply has no "files"`)
	}
	files, ok := fv.(map[string]any)
	if !ok {
		return nil, badResponse(`"files" is %s, not a dictionary`, typeName(fv))
	}
	out := make(map[[20]byte]ScrapeResult, len(files))
	for k, e := range files {
		if len(k) != 20 {
			return nil, badResponse(`"files" key of %d bytes, not a 20-byte info hash`, len(k))
		}
		ed, ok := e.(map[string]any)
		if !ok {
			return nil, badResponse("scrape entry for %x is %s, not a dictionary", k, typeName(e))
		}
		var r ScrapeResult
		for _, f := range []struct {
			key string
			dst *int
		}{{"complete", &r.Seeders}, {"downloaded", &r.Completed}, {"incomplete", &r.Leechers}} {
			n, _, err := optInt(ed, f.key)
			if err != nil {
				return nil, fmt.Errorf("%w (scrape entry for %x)", err, k)
			}
			*f.dst = clampCount(n)
		}
		out[[20]byte([]byte(k))] = r
	}
	return out, nil
}
