package tracker

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
)

// ScrapeResult is a tracker's count for one torrent.
type ScrapeResult struct {
	Seeders   int // peers with the whole torrent ("complete")
	Completed int // downloads completed, ever ("downloaded")
	Leechers  int // peers still downloading ("incomplete")
}

// Scrape asks the tracker at trackerURL (an announce URL: http, https or
// udp) how many peers each of infoHashes has. The result holds the
// requested torrents the tracker reported on; a tracker may leave out
// torrents it does not know. Requests for more than 74 info hashes are
// split (BEP 15's limit, applied to HTTP too).
//
// An HTTP tracker's scrape URL is its announce URL with the last path
// component's leading "announce" replaced by "scrape" (BEP 48); a URL
// whose last component does not begin with "announce" gives
// ErrScrapeUnsupported. Other errors are those of Announce; no info hash
// at all is ErrBadRequest.
func (c *Client) Scrape(ctx context.Context, trackerURL string, infoHashes [][20]byte) (map[[20]byte]ScrapeResult, error) {
	u, err := parseTrackerURL(trackerURL)
	if err != nil {
		return nil, err
	}
	if len(infoHashes) == 0 {
		return nil, fmt.Errorf("%w: scrape of no info hash", ErrBadRequest)
	}
	var scrapeBatch func(ctx context.Context, batch [][20]byte, out map[[20]byte]ScrapeResult) error
	switch u.Scheme {
	case "http", "https":
		su, err := scrapeURL(u)
		if err != nil {
			return nil, err
		}
		scrapeBatch = func(ctx context.Context, batch [][20]byte, out map[[20]byte]ScrapeResult) error {
			return c.scrapeHTTP(ctx, su, batch, out)
		}
	case "udp":
		s, closeFn, err := c.dialUDP(ctx, u)
		if err != nil {
			return nil, err
		}
		defer closeFn()
		scrapeBatch = s.scrape
	default:
		return nil, fmt.Errorf("%w %q in %s", ErrUnsupportedScheme, u.Scheme, redact(u))
	}
	out := make(map[[20]byte]ScrapeResult, len(infoHashes))
	for len(infoHashes) > 0 {
		n := min(len(infoHashes), udpMaxScrape)
		if err := scrapeBatch(ctx, infoHashes[:n], out); err != nil {
			return nil, err
		}
		infoHashes = infoHashes[n:]
	}
	return out, nil
}

// scrapeURL derives an HTTP tracker's scrape URL from its announce URL.
func scrapeURL(u *url.URL) (*url.URL, error) {
	p := u.EscapedPath()
	i := strings.LastIndexByte(p, '/')
	last := p[i+1:]
	if !strings.HasPrefix(last, "announce") {
		return nil, fmt.Errorf("%w: %s does not end in /announce", ErrScrapeUnsupported, redact(u))
	}
	p = p[:i+1] + "scrape" + last[len("announce"):]
	unescaped, err := url.PathUnescape(p)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrBadURL, redact(u), err)
	}
	su := *u
	su.Path, su.RawPath = unescaped, p
	return &su, nil
}

func (c *Client) scrapeHTTP(ctx context.Context, su *url.URL, hashes [][20]byte, out map[[20]byte]ScrapeResult) error {
	var q strings.Builder
	for i, h := range hashes {
		if i > 0 {
			q.WriteByte('&')
		}
		q.WriteString("info_hash=")
		appendEscaped(&q, h[:])
	}
	body, err := c.get(ctx, su, withQuery(su, q.String()), "scrape of")
	if err != nil {
		return err
	}
	files, err := ParseScrapeResponse(body)
	if err != nil {
		var fe *FailureError
		if errors.As(err, &fe) {
			return err
		}
		return fmt.Errorf("%w (from %s)", err, redact(su))
	}
	for _, h := range hashes {
		if r, ok := files[h]; ok {
			out[h] = r
		}
	}
	return nil
}

// scrape scrapes hashes (at most udpMaxScrape) over BEP 15.
func (s *udpSession) scrape(ctx context.Context, hashes [][20]byte, out map[[20]byte]ScrapeResult) error {
	reply, err := s.request(ctx, func(dst []byte, connID uint64, txid uint32) []byte {
		return appendScrape(dst, connID, txid, hashes)
	})
	if err != nil {
		return err
	}
	rs, err := parseUDPScrape(reply, len(hashes))
	if err != nil {
		return s.replyError(err, "scrape")
	}
	for i, h := range hashes {
		out[h] = rs[i]
	}
	return nil
}
