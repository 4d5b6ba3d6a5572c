package peerwire

import (
	"encoding/binary"
	"slices"
	"strconv"
)

// MessageID is the one-byte type of a message.
type MessageID uint8

// Message IDs of BEP 3, BEP 6 and BEP 10.
const (
	Choke         MessageID = 0
	Unchoke       MessageID = 1
	Interested    MessageID = 2
	NotInterested MessageID = 3
	Have          MessageID = 4
	Bitfield      MessageID = 5
	Request       MessageID = 6
	Piece         MessageID = 7
	Cancel        MessageID = 8
	Port          MessageID = 9
	Suggest       MessageID = 13 // BEP 6
	HaveAll       MessageID = 14 // BEP 6
	HaveNone      MessageID = 15 // BEP 6
	Reject        MessageID = 16 // BEP 6
	AllowedFast   MessageID = 17 // BEP 6
	Extended      MessageID = 20 // BEP 10
)

var messageNames = [...]string{
	Choke:         "choke",
	Unchoke:       "unchoke",
	Interested:    "interested",
	NotInterested: "not interested",
	Have:          "have",
	Bitfield:      "bitfield",
	Request:       "request",
	Piece:         "piece",
	Cancel:        "cancel",
	Port:          "port",
	Suggest:       "suggest",
	HaveAll:       "have all",
	HaveNone:      "have none",
	Reject:        "reject",
	AllowedFast:   "allowed fast",
	Extended:      "extended",
}

// String returns the message's name, e.g. "not interested", or
// "unknown(42)" for an ID this package does not know.
func (id MessageID) String() string {
	if int(id) < len(messageNames) && messageNames[id] != "" {
		return messageNames[id]
	}
	return "unknown(" + strconv.Itoa(int(id)) + ")"
}

// Known reports whether id is one of the message IDs this package decodes.
func (id MessageID) Known() bool {
	return int(id) < len(messageNames) && messageNames[id] != ""
}

// Message is one peer wire message. Which fields are meaningful depends on
// ID; the others are zero after Decode and ignored by AppendMessage.
type Message struct {
	Keepalive bool // a zero-length message; ID and the rest are ignored
	ID        MessageID
	// Have, Suggest, AllowedFast: Index.
	// Request, Cancel, Reject: Index, Begin, Length.
	// Piece: Index, Begin (the block is in Block).
	Index, Begin, Length uint32
	Bitfield             []byte // Bitfield
	Block                []byte // Piece payload
	Port                 uint16 // Port (BEP 5 DHT port)
	ExtendedID           uint8  // Extended: 0 is the BEP 10 handshake
	Payload              []byte // Extended: the bytes after ExtendedID
}

// bodyLen returns the length of m's wire form after the 4-byte prefix.
func bodyLen(m *Message) int {
	switch m.ID {
	case Have, Suggest, AllowedFast:
		return 5
	case Request, Cancel, Reject:
		return 13
	case Bitfield:
		return 1 + len(m.Bitfield)
	case Piece:
		return 9 + len(m.Block)
	case Port:
		return 3
	case Extended:
		return 2 + len(m.Payload)
	default:
		// Choke, Unchoke, Interested, NotInterested, HaveAll, HaveNone;
		// an unknown ID is written as a bare ID.
		return 1
	}
}

// AppendMessage appends m's wire encoding, including its 4-byte length
// prefix, to dst and returns the extended slice. Fields that do not belong
// to m.ID are ignored; an unknown ID is written as a bare one-byte message.
func AppendMessage(dst []byte, m *Message) []byte {
	if m.Keepalive {
		return append(dst, 0, 0, 0, 0)
	}
	dst = binary.BigEndian.AppendUint32(dst, uint32(bodyLen(m)))
	dst = append(dst, byte(m.ID))
	switch m.ID {
	case Have, Suggest, AllowedFast:
		dst = binary.BigEndian.AppendUint32(dst, m.Index)
	case Request, Cancel, Reject:
		dst = binary.BigEndian.AppendUint32(dst, m.Index)
		dst = binary.BigEndian.AppendUint32(dst, m.Begin)
		dst = binary.BigEndian.AppendUint32(dst, m.Length)
	case Bitfield:
		dst = append(dst, m.Bitfield...)
	case Piece:
		dst = binary.BigEndian.AppendUint32(dst, m.Index)
		dst = binary.BigEndian.AppendUint32(dst, m.Begin)
		dst = append(dst, m.Block...)
	case Port:
		dst = binary.BigEndian.AppendUint16(dst, m.Port)
	case Extended:
		dst = append(dst, m.ExtendedID)
		dst = append(dst, m.Payload...)
	}
	return dst
}

// lengthFor returns the allowed body length (after the 4-byte prefix) for
// id: exactly min if exact, else at least min.
func lengthFor(id MessageID) (min uint32, exact bool) {
	switch id {
	case Choke, Unchoke, Interested, NotInterested, HaveAll, HaveNone:
		return 1, true
	case Have, Suggest, AllowedFast:
		return 5, true
	case Request, Cancel, Reject:
		return 13, true
	case Port:
		return 3, true
	case Bitfield:
		return 1, false
	case Piece:
		return 9, false
	case Extended:
		return 2, false
	}
	return 0, false
}

// AppendPiece appends a Piece message for a block of length bytes and
// returns the extended slice and the block's place in it, for the caller
// to fill: a block read from storage goes straight into the frame, with
// no copy. The block's bytes are not cleared.
func AppendPiece(dst []byte, index, begin uint32, length int) (out, block []byte) {
	dst = binary.BigEndian.AppendUint32(dst, uint32(9+length))
	dst = append(dst, byte(Piece))
	dst = binary.BigEndian.AppendUint32(dst, index)
	dst = binary.BigEndian.AppendUint32(dst, begin)
	start := len(dst)
	dst = slices.Grow(dst, length)[:start+length]
	return dst, dst[start:]
}
