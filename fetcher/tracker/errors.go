package tracker

import (
	"errors"
	"fmt"
)

// Sentinel errors; every error this package returns carries the prefix
// "tracker: ".
var (
	// ErrUnsupportedScheme: the tracker URL's scheme is not http, https
	// or udp.
	ErrUnsupportedScheme = errors.New("tracker: unsupported tracker URL scheme")
	// ErrBadURL: the tracker URL cannot be parsed, has no host, or (udp)
	// no port.
	ErrBadURL = errors.New("tracker: bad tracker URL")
	// ErrBadRequest: the AnnounceRequest has an invalid field, or a scrape
	// names no info hash.
	ErrBadRequest = errors.New("tracker: bad request")
	// ErrBodyTooLarge: the reply exceeded MaxBodySize.
	ErrBodyTooLarge = errors.New("tracker: reply too large")
	// ErrBadResponse: the reply is not a valid announce or scrape
	// response (for UDP: truncated, wrong action, bad peer list length).
	ErrBadResponse = errors.New("tracker: bad tracker response")
	// ErrScrapeUnsupported: an HTTP tracker whose URL's last path
	// component does not begin with "announce" has no scrape URL by
	// convention (BEP 48).
	ErrScrapeUnsupported = errors.New("tracker: tracker does not support scrape")
	// ErrTimeout: a UDP tracker did not answer after every retransmission
	// of the BEP 15 schedule.
	ErrTimeout = errors.New("tracker: no reply from UDP tracker")
)

// FailureError is the tracker's "failure reason": the tracker understood
// the request and refused it (unknown torrent, not registered, ...).
type FailureError struct{ Reason string }

func (e *FailureError) Error() string { return "tracker: tracker said: " + e.Reason }

// StatusError is a reply with an HTTP status other than 200 OK.
type StatusError struct {
	Code   int    // e.g. 404
	Status string // e.g. "404 Not Found"
}

func (e *StatusError) Error() string { return fmt.Sprintf("tracker: HTTP status %s", e.Status) }

func badResponse(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrBadResponse, fmt.Sprintf(format, args...))
}
