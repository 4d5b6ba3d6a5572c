package tracker

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"net/url"
)

// MaxBodySize caps the size of an HTTP announce or scrape reply. 4 MiB
// holds about 700,000 compact peers; real replies are a few KiB.
const MaxBodySize = 4 << 20

// UserAgent is sent with every HTTP announce and scrape.
const UserAgent = "torrentfs/0.1"

// AnnounceRequest is what a client tells the tracker.
type AnnounceRequest struct {
	InfoHash, PeerID           [20]byte
	Port                       uint16 // our listening port
	Uploaded, Downloaded, Left int64  // bytes; must not be negative
	Event                      Event
	NumWant                    int        // peers wanted; <= 0 leaves it to the tracker
	Key                        uint32     // sent as 8 hex digits (HTTP); identifies us across IP changes
	IP                         netip.Addr // optional "ip" parameter; the zero Addr omits it
}

// Announce sends req to the tracker at announceURL and returns its reply,
// as (*Client).Announce does for a Client made with c (nil means
// http.DefaultClient) and no logger. Each call starts afresh, so UDP
// connection IDs are not reused between calls: long-running callers should
// keep a Client instead.
func Announce(ctx context.Context, c *http.Client, announceURL string, req AnnounceRequest) (*AnnounceResponse, error) {
	return NewClient(Options{HTTPClient: c}).Announce(ctx, announceURL, req)
}

// Scrape asks the tracker at trackerURL about infoHashes, as
// (*Client).Scrape does for a Client made with c and no logger.
func Scrape(ctx context.Context, c *http.Client, trackerURL string, infoHashes [][20]byte) (map[[20]byte]ScrapeResult, error) {
	return NewClient(Options{HTTPClient: c}).Scrape(ctx, trackerURL, infoHashes)
}

func (c *Client) announceHTTP(ctx context.Context, u *url.URL, req *AnnounceRequest) (*AnnounceResponse, error) {
	full, err := announceURL(u, req)
	if err != nil {
		return nil, err
	}
	body, err := c.get(ctx, u, full, "announce to")
	if err != nil {
		return nil, err
	}
	r, err := ParseAnnounceResponse(body)
	if err != nil {
		var fe *FailureError
		if errors.As(err, &fe) {
			return nil, err
		}
		return nil, fmt.Errorf("%w (from %s)", err, redact(u))
	}
	return r, nil
}
