package peerwire

import "fmt"

// String describes m for logs, e.g. "request(index=1 begin=16384
// length=16384)" or "piece(index=1 begin=0, 16384 bytes)". Payload bytes are
// not printed.
func (m *Message) String() string {
	if m.Keepalive {
		return "keepalive"
	}
	switch m.ID {
	case Have, Suggest, AllowedFast:
		return fmt.Sprintf("%v(index=%d)", m.ID, m.Index)
	case Request, Cancel, Reject:
		return fmt.Sprintf("%v(index=%d begin=%d length=%d)", m.ID, m.Index, m.Begin, m.Length)
	case Piece:
		return fmt.Sprintf("%v(index=%d begin=%d, %d bytes)", m.ID, m.Index, m.Begin, len(m.Block))
	case Bitfield:
		return fmt.Sprintf("%v(%d bytes)", m.ID, len(m.Bitfield))
	case Port:
		return fmt.Sprintf("%v(%d)", m.ID, m.Port)
	case Extended:
		return fmt.Sprintf("%v(id=%d, %d bytes)", m.ID, m.ExtendedID, len(m.Payload))
	}
	return m.ID.String()
}
