package tracker

import (
	"errors"
	"fmt"
)

// Sentinel errors; every error this package returns carries the prefix
// "tracker: ".
var (
	// ErrUnsupportedScheme: the announce URL's scheme is not http or https.
	ErrUnsupportedScheme = errors.New("tracker: unsupported announce URL scheme")
	// ErrBadURL: the announce URL cannot be parsed or has no host.
	ErrBadURL = errors.New("tracker: bad announce URL")
	// ErrBadRequest: the AnnounceRequest has an invalid field.
	ErrBadRequest = errors.New("tracker: bad announce request")
	// ErrBodyTooLarge: the reply exceeded MaxBodySize.
	ErrBodyTooLarge = errors.New("tracker: reply too large")
	// ErrBadResponse: the reply is not a valid announce response.
	ErrBadResponse = errors.New("tracker: bad announce response")
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
