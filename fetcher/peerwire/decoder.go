package peerwire

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
)

// ReadBufferSize is the size of the bufio.Reader a Decoder reads through.
const ReadBufferSize = 64 << 10

// DefaultMaxLength is the maximum message length NewDecoder uses when
// given 0: room for a Piece message of a 16 KiB block, bitfields of
// torrents up to about 2 million pieces and BEP 9 metadata messages.
const DefaultMaxLength = 256 << 10

// growStep bounds how much a Decoder allocates ahead of the bytes that
// actually arrived, so a peer announcing a long message and then sending
// nothing costs little memory.
const growStep = 64 << 10

// Decoder reads messages from a stream. It is not safe for concurrent use;
// one goroutine (the connection's reader) owns it.
type Decoder struct {
	r         *bufio.Reader
	maxLength uint32
	hdr       [5]byte // length prefix and ID
	buf       []byte  // message bodies; reused, grows up to maxLength
	err       error   // sticky: once framing is lost, every Decode fails
}

// NewDecoder returns a decoder reading from r that rejects messages longer
// than maxLength bytes (not counting the 4-byte prefix) before allocating
// for them; 0 means DefaultMaxLength. If r is a *bufio.Reader of at least
// ReadBufferSize bytes it is used directly, otherwise it is wrapped in one.
func NewDecoder(r io.Reader, maxLength uint32) *Decoder {
	if maxLength == 0 {
		maxLength = DefaultMaxLength
	}
	return &Decoder{r: bufio.NewReaderSize(r, ReadBufferSize), maxLength: maxLength}
}

// Buffered returns how many bytes the decoder has read from its reader but
// not yet decoded.
func (d *Decoder) Buffered() int { return d.r.Buffered() }

// Decode reads one message into m, overwriting all of its fields. Slices
// in m (Bitfield, Block, Payload) point into the decoder's buffer and are
// valid only until the next Decode.
//
// A connection closed cleanly between messages gives io.EOF; one closed
// inside a message gives an error wrapping io.ErrUnexpectedEOF. Protocol
// violations wrap ErrMessageTooLong, ErrBadLength or ErrUnknownMessage (as
// *UnknownMessageError). After any error the stream's framing is lost, and
// every later Decode returns the same error.
func (d *Decoder) Decode(m *Message) error {
	if d.err != nil {
		return d.err
	}
	if err := d.decode(m); err != nil {
		*m = Message{}
		d.err = err
		return err
	}
	return nil
}

func (d *Decoder) decode(m *Message) error {
	*m = Message{}
	if _, err := io.ReadFull(d.r, d.hdr[:4]); err != nil {
		if err == io.EOF {
			return io.EOF
		}
		return fmt.Errorf("peerwire: reading length prefix: %w", err)
	}
	n := binary.BigEndian.Uint32(d.hdr[:4])
	if n == 0 {
		m.Keepalive = true
		return nil
	}
	if n > d.maxLength {
		return fmt.Errorf("%w: length %d exceeds the limit of %d", ErrMessageTooLong, n, d.maxLength)
	}
	id, err := d.r.ReadByte()
	if err != nil {
		return fmt.Errorf("peerwire: reading message id: %w", unexpected(err))
	}
	m.ID = MessageID(id)
	want, exact := lengthFor(m.ID)
	switch {
	case want == 0:
		return &UnknownMessageError{ID: m.ID, Length: n}
	case exact && n != want:
		return fmt.Errorf("%w: %v message of length %d, want %d", ErrBadLength, m.ID, n, want)
	case n < want:
		return fmt.Errorf("%w: %v message of length %d, want at least %d", ErrBadLength, m.ID, n, want)
	}
	body, err := d.readBody(int(n - 1))
	if err != nil {
		return fmt.Errorf("peerwire: reading %v message: %w", m.ID, unexpected(err))
	}
	switch m.ID {
	case Have, Suggest, AllowedFast:
		m.Index = binary.BigEndian.Uint32(body)
	case Request, Cancel, Reject:
		m.Index = binary.BigEndian.Uint32(body)
		m.Begin = binary.BigEndian.Uint32(body[4:])
		m.Length = binary.BigEndian.Uint32(body[8:])
	case Bitfield:
		m.Bitfield = body
	case Piece:
		m.Index = binary.BigEndian.Uint32(body)
		m.Begin = binary.BigEndian.Uint32(body[4:])
		m.Block = body[8:]
	case Port:
		m.Port = binary.BigEndian.Uint16(body)
	case Extended:
		m.ExtendedID = body[0]
		m.Payload = body[1:]
	}
	return nil
}

// readBody reads the n bytes after the ID into d.buf. The buffer grows in
// steps of at most growStep as bytes arrive, never beyond the message.
func (d *Decoder) readBody(n int) ([]byte, error) {
	if n <= cap(d.buf) {
		b := d.buf[:n]
		_, err := io.ReadFull(d.r, b)
		return b, err
	}
	b := d.buf[:0]
	for len(b) < n {
		if len(b) == cap(b) {
			c := min(n, max(2*cap(b), len(b)+growStep))
			nb := make([]byte, len(b), c)
			copy(nb, b)
			b = nb
			d.buf = b
		}
		k, err := d.r.Read(b[len(b):min(n, cap(b))])
		b = b[:len(b)+k]
		if err != nil && len(b) < n {
			return nil, err
		}
	}
	d.buf = b
	return b, nil
}

// unexpected turns io.EOF inside a message into io.ErrUnexpectedEOF.
func unexpected(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}
