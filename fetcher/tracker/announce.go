package tracker

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"net/url"
)

// MaxBodySize caps the size of an announce reply. 4 MiB holds about
// 700,000 compact peers; real replies are a few KiB.
const MaxBodySize = 4 << 20

// UserAgent is sent with every HTTP announce.
const UserAgent = "torrentfs/0.1"

// AnnounceRequest is what a client tells the tracker.
type AnnounceRequest struct {
	InfoHash, PeerID           [20]byte
	Port                       uint16 // our listening port
	Uploaded, Downloaded, Left int64  // bytes; must not be negative
	Event                      Event
	NumWant                    int        // peers wanted; <= 0 leaves it to the tracker
	Key                        uint32     // sent as 8 hex digits; identifies us across IP changes
	IP                         netip.Addr // optional "ip" parameter; the zero Addr omits it
}

// Announce sends req to the tracker at announceURL and returns its reply.
// Only http and https URLs are supported so far; others give an error
// wrapping ErrUnsupportedScheme. A nil c means http.DefaultClient. The
// call returns promptly when ctx is done.
//
// Errors: *FailureError when the tracker refused, *StatusError for a
// status other than 200, ErrBodyTooLarge, ErrBadResponse, or a transport
// error. They name the tracker by scheme, host and path only, never by its
// query, which on private trackers holds a passkey.
func Announce(ctx context.Context, c *http.Client, announceURL string, req AnnounceRequest) (*AnnounceResponse, error) {
	u, err := url.Parse(announceURL)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // url.Error repeats the URL, passkey and all
		}
		return nil, fmt.Errorf("%w: %v", ErrBadURL, err)
	}
	switch u.Scheme {
	case "http", "https":
		if u.Host == "" {
			return nil, fmt.Errorf("%w: %s has no host", ErrBadURL, redact(u))
		}
		return announceHTTP(ctx, c, u, &req)
	// case "udp": BEP 15 goes here.
	default:
		return nil, fmt.Errorf("%w %q in %s", ErrUnsupportedScheme, u.Scheme, redact(u))
	}
}

func announceHTTP(ctx context.Context, c *http.Client, u *url.URL, req *AnnounceRequest) (*AnnounceResponse, error) {
	if c == nil {
		c = http.DefaultClient
	}
	full, err := announceURL(u, req)
	if err != nil {
		return nil, err
	}
	hreq, err := http.NewRequestWithContext(ctx, http.MethodGet, full, nil)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrBadURL, redact(u), err)
	}
	hreq.Header.Set("User-Agent", UserAgent)
	resp, err := c.Do(hreq)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, fmt.Errorf("tracker: announce to %s: %w", redact(u), err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, MaxBodySize+1))
	if err != nil {
		return nil, fmt.Errorf("tracker: reading reply from %s: %w", redact(u), err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%w (announce to %s)", &StatusError{Code: resp.StatusCode, Status: resp.Status}, redact(u))
	}
	if len(body) > MaxBodySize {
		return nil, fmt.Errorf("%w: more than %d bytes from %s", ErrBodyTooLarge, MaxBodySize, redact(u))
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

// redact names a tracker without its query, fragment or password.
func redact(u *url.URL) string {
	return u.Scheme + "://" + u.Host + u.EscapedPath()
}
