package tracker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"sync"
	"time"
)

// Options configure a Client. The zero value is usable.
type Options struct {
	// HTTPClient sends HTTP(S) announces and scrapes; nil means
	// http.DefaultClient.
	HTTPClient *http.Client
	// Logger receives debug records about UDP retransmissions and ignored
	// datagrams; nil discards them.
	Logger *slog.Logger
	// Dial opens UDP tracker sockets (network "udp"); nil means a
	// net.Dialer. HTTP trackers use HTTPClient's transport.
	Dial func(ctx context.Context, network, addr string) (net.Conn, error)
}

// BEP 15 timing.
const (
	// UDPTimeout is the wait for a UDP tracker's first reply; the n-th
	// retransmission waits UDPTimeout·2^n.
	UDPTimeout = 15 * time.Second
	// UDPRetries is the largest n: after the wait of UDPTimeout·2^8
	// (3840 s) goes unanswered, the request fails with ErrTimeout.
	UDPRetries = 8
	// ConnectionIDLifetime is how long a UDP connection ID is reused.
	ConnectionIDLifetime = time.Minute
)

// Client announces to and scrapes HTTP, HTTPS and UDP trackers. It caches
// UDP connection IDs per tracker address for ConnectionIDLifetime. It is
// safe for concurrent use, starts no goroutines, and needs no Close. Make
// one with NewClient; the zero Client is not usable.
type Client struct {
	http *http.Client
	log  *slog.Logger
	dial func(ctx context.Context, network, addr string) (net.Conn, error)

	// Fixed after NewClient; tests shrink them.
	udpTimeout time.Duration    // BEP 15's 15 s base timeout
	udpRetries int              // BEP 15's largest n
	now        func() time.Time // clock for connection ID lifetimes

	mu    sync.Mutex           // guards conns
	conns map[string]connEntry // by the tracker's resolved address, "ip:port"
}

// connEntry is a UDP connection ID and when it was received.
type connEntry struct {
	id uint64
	at time.Time
}

// NewClient returns a Client using opts.
func NewClient(opts Options) *Client {
	c := &Client{
		http:       opts.HTTPClient,
		log:        opts.Logger,
		dial:       opts.Dial,
		udpTimeout: UDPTimeout,
		udpRetries: UDPRetries,
		now:        time.Now,
	}
	if c.http == nil {
		c.http = http.DefaultClient
	}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	if c.dial == nil {
		var d net.Dialer
		c.dial = d.DialContext
	}
	return c
}

// Announce sends req to the tracker at announceURL (http, https or udp)
// and returns its reply. It returns promptly when ctx is done; a UDP
// tracker that never answers is retried on the BEP 15 schedule (about two
// hours in all), so callers should bound ctx.
//
// For udp://host:port/path?query URLs, the path and query go to the
// tracker as the BEP 41 URL data option; req.IP is sent only if it is an
// IPv4 address.
//
// Errors: *FailureError when the tracker refused (the "failure reason", or
// a UDP error reply's message), *StatusError for an HTTP status other than
// 200, ErrBadURL, ErrUnsupportedScheme, ErrBadRequest, ErrBodyTooLarge,
// ErrBadResponse, ErrTimeout, the ctx's error, or a transport error. They
// name the tracker by scheme, host and path only, never by its query,
// which on private trackers holds a passkey.
func (c *Client) Announce(ctx context.Context, announceURL string, req AnnounceRequest) (*AnnounceResponse, error) {
	u, err := parseTrackerURL(announceURL)
	if err != nil {
		return nil, err
	}
	switch u.Scheme {
	case "http", "https":
		return c.announceHTTP(ctx, u, &req)
	case "udp":
		return c.announceUDP(ctx, u, &req)
	}
	return nil, fmt.Errorf("%w %q in %s", ErrUnsupportedScheme, u.Scheme, redact(u))
}

// parseTrackerURL parses a tracker URL and checks that it names a host
// (and, for udp, a port).
func parseTrackerURL(s string) (*url.URL, error) {
	u, err := url.Parse(s)
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
	case "udp":
		if u.Hostname() == "" || u.Port() == "" {
			return nil, fmt.Errorf("%w: %s needs a host and a port", ErrBadURL, redact(u))
		}
	}
	return u, nil
}

// redact names a tracker without its query, fragment or password.
func redact(u *url.URL) string {
	return u.Scheme + "://" + u.Host + u.EscapedPath()
}
