package peerwire

import (
	"fmt"
	"io"
)

// HandshakeLen is the length of a handshake on the wire.
const HandshakeLen = len(Protocol) + 8 + 20 + 20

// Handshake is the first thing each side sends (BEP 3).
type Handshake struct {
	Reserved [8]byte
	InfoHash [20]byte
	PeerID   [20]byte
}

// SetExtended sets the BEP 10 extension protocol bit (reserved[5] & 0x10).
func (h *Handshake) SetExtended() { h.Reserved[5] |= 0x10 }

// Extended reports whether the BEP 10 extension protocol bit is set.
func (h Handshake) Extended() bool { return h.Reserved[5]&0x10 != 0 }

// SetFast sets the BEP 6 fast extension bit (reserved[7] & 0x04).
func (h *Handshake) SetFast() { h.Reserved[7] |= 0x04 }

// Fast reports whether the BEP 6 fast extension bit is set.
func (h Handshake) Fast() bool { return h.Reserved[7]&0x04 != 0 }

// AppendHandshake appends the 68-byte wire form of h to dst.
func AppendHandshake(dst []byte, h Handshake) []byte {
	dst = append(dst, Protocol...)
	dst = append(dst, h.Reserved[:]...)
	dst = append(dst, h.InfoHash[:]...)
	return append(dst, h.PeerID[:]...)
}

// WriteHandshake writes h to w in one Write call.
func WriteHandshake(w io.Writer, h Handshake) error {
	var buf [HandshakeLen]byte
	if _, err := w.Write(AppendHandshake(buf[:0], h)); err != nil {
		return fmt.Errorf("peerwire: writing handshake: %w", err)
	}
	return nil
}

// ReadHandshake reads exactly one handshake from r and nothing more. It
// checks the protocol string first, so a peer speaking something else is
// rejected with ErrBadProtocol after 20 bytes. A connection closed before
// the first byte gives io.EOF; one closed in the middle wraps
// io.ErrUnexpectedEOF.
func ReadHandshake(r io.Reader) (Handshake, error) {
	var h Handshake
	var buf [HandshakeLen]byte
	p := len(Protocol)
	if _, err := io.ReadFull(r, buf[:p]); err != nil {
		if err == io.EOF {
			return h, io.EOF
		}
		return h, fmt.Errorf("peerwire: reading handshake: %w", err)
	}
	if string(buf[:p]) != Protocol {
		return h, fmt.Errorf("%w: got %q", ErrBadProtocol, buf[:p])
	}
	if _, err := io.ReadFull(r, buf[p:]); err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return h, fmt.Errorf("peerwire: reading handshake: %w", err)
	}
	copy(h.Reserved[:], buf[p:])
	copy(h.InfoHash[:], buf[p+8:])
	copy(h.PeerID[:], buf[p+28:])
	return h, nil
}
