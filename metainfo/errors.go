package metainfo

import (
	"errors"
	"fmt"
)

// ErrInvalid is matched (errors.Is) by every error Parse, ParseInfo and
// Create return for input that is well-formed bencode but not a valid
// torrent: a missing or mistyped field, an inconsistent piece count, an
// unsafe path and so on. Malformed bencode gives a *SyntaxError instead.
var ErrInvalid = errors.New("metainfo: invalid torrent")

// ErrUnsafePath is matched (errors.Is) by errors for a file path or name
// that could escape the mount or is not a usable file name.
var ErrUnsafePath = errors.New("unsafe path")

// invalidError is an ErrInvalid with its own message and an optional cause.
type invalidError struct {
	msg string
	err error
}

func (e *invalidError) Error() string        { return "metainfo: " + e.msg }
func (e *invalidError) Is(target error) bool { return target == ErrInvalid }
func (e *invalidError) Unwrap() error        { return e.err }

func invalidf(format string, args ...any) error {
	return &invalidError{msg: fmt.Sprintf(format, args...)}
}

// invalidWrap is invalidf with a cause whose text follows the message.
func invalidWrap(err error, format string, args ...any) error {
	return &invalidError{msg: fmt.Sprintf(format, args...) + ": " + err.Error(), err: err}
}
