package peerwire

import (
	"errors"
	"fmt"
)

// Sentinel errors. Every protocol violation reported by this package wraps
// one of them, so callers can tell a misbehaving peer (drop it) from a
// closed connection (io.EOF, io.ErrUnexpectedEOF) or a network error.
var (
	// ErrBadProtocol: the handshake did not start with Protocol.
	ErrBadProtocol = errors.New("peerwire: not a BitTorrent handshake")
	// ErrMessageTooLong: a length prefix exceeded the decoder's maximum.
	ErrMessageTooLong = errors.New("peerwire: message too long")
	// ErrBadLength: a message's length does not fit its ID.
	ErrBadLength = errors.New("peerwire: wrong message length")
	// ErrUnknownMessage: a message ID this package does not know.
	ErrUnknownMessage = errors.New("peerwire: unknown message")
	// ErrBadBitfield: a bitfield of the wrong size or with spare bits set.
	ErrBadBitfield = errors.New("peerwire: bad bitfield")
)

// UnknownMessageError reports a message whose ID is not known. It matches
// ErrUnknownMessage with errors.Is.
type UnknownMessageError struct {
	ID     MessageID
	Length uint32 // the message's length prefix
}

func (e *UnknownMessageError) Error() string {
	return fmt.Sprintf("peerwire: unknown message id %d (length %d)", uint8(e.ID), e.Length)
}

// Unwrap returns ErrUnknownMessage.
func (e *UnknownMessageError) Unwrap() error { return ErrUnknownMessage }

// IsProtocolError reports whether err is a protocol violation by the peer
// (as opposed to a closed connection or an I/O error).
func IsProtocolError(err error) bool {
	return errors.Is(err, ErrBadProtocol) || errors.Is(err, ErrMessageTooLong) ||
		errors.Is(err, ErrBadLength) || errors.Is(err, ErrUnknownMessage) ||
		errors.Is(err, ErrBadBitfield)
}
