package fetcher

import "errors"

var (
	// ErrClosed is returned by calls on a closed Client, Torrent or Reader.
	ErrClosed = errors.New("fetcher: closed")
	// ErrReadTimeout is returned by a read that waited longer than
	// Options.ReadTimeout for its pieces.
	ErrReadTimeout = errors.New("fetcher: read timed out waiting for pieces")
	// ErrDuplicateTorrent is returned by AddTorrent for an info hash the
	// client already has.
	ErrDuplicateTorrent = errors.New("fetcher: torrent already added")
)
