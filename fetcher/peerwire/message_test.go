package peerwire

import (
	"bytes"
	"encoding/hex"
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"

	"github.com/torrentfs/torrentfs/internal/testbytes"
)

// allMessages has one message of every type, with distinctive values.
func allMessages() []Message {
	return []Message{
		{Keepalive: true},
		{ID: Choke},
		{ID: Unchoke},
		{ID: Interested},
		{ID: NotInterested},
		{ID: Have, Index: 0xdeadbeef},
		{ID: Bitfield, Bitfield: []byte{0xff, 0x0f, 0x80}},
		{ID: Request, Index: 1, Begin: 2 * BlockSize, Length: BlockSize},
		{ID: Piece, Index: 7, Begin: BlockSize, Block: testbytes.Bytes(3, BlockSize)},
		{ID: Piece, Index: 8, Begin: 0, Block: []byte{}}, // empty block: framing allows it
		{ID: Cancel, Index: 3, Begin: 4, Length: 5},
		{ID: Port, Port: 6881},
		{ID: Suggest, Index: 42},
		{ID: HaveAll},
		{ID: HaveNone},
		{ID: Reject, Index: 9, Begin: 10, Length: 11},
		{ID: AllowedFast, Index: 1313},
		{ID: Extended, ExtendedID: 0, Payload: []byte("d1:md11:ut_metadatai1eee")},
		{ID: Extended, ExtendedID: 3, Payload: []byte{}},
	}
}

// normalize makes nil and empty slices compare equal.
func normalize(m Message) Message {
	for _, p := range []*[]byte{&m.Bitfield, &m.Block, &m.Payload} {
		if *p != nil && len(*p) == 0 {
			*p = nil
		}
	}
	return m
}

func TestRoundTripEveryMessage(t *testing.T) {
	msgs := allMessages()
	var wire []byte
	for i := range msgs {
		wire = AppendMessage(wire, &msgs[i])
	}
	d := NewDecoder(bytes.NewReader(wire), 0)
	for i, want := range msgs {
		var got Message
		if err := d.Decode(&got); err != nil {
			t.Fatalf("message %d (%v): %v", i, want.ID, err)
		}
		if !reflect.DeepEqual(normalize(got), normalize(want)) {
			t.Fatalf("message %d: got %+v, want %+v", i, got, want)
		}
	}
	var m Message
	if err := d.Decode(&m); err != io.EOF {
		t.Fatalf("after the last message: got %v, want io.EOF", err)
	}
}

func TestExactEncodings(t *testing.T) {
	// Hand-written from BEP 3, BEP 5 (port), BEP 6 and BEP 10.
	for _, tc := range []struct {
		m   Message
		hex string
	}{
		{Message{Keepalive: true}, "00000000"},
		{Message{ID: Choke}, "0000000100"},
		{Message{ID: Unchoke}, "0000000101"},
		{Message{ID: Interested}, "0000000102"},
		{Message{ID: NotInterested}, "0000000103"},
		{Message{ID: Have, Index: 3}, "00000005" + "04" + "00000003"},
		{Message{ID: Bitfield, Bitfield: []byte{0xff, 0x80}}, "00000003" + "05" + "ff80"},
		{Message{ID: Request, Index: 1, Begin: 0x4000, Length: 0x4000}, "0000000d" + "06" + "00000001" + "00004000" + "00004000"},
		{Message{ID: Piece, Index: 2, Begin: 0x8000, Block: []byte("abc")}, "0000000c" + "07" + "00000002" + "00008000" + "616263"},
		{Message{ID: Cancel, Index: 1, Begin: 0x4000, Length: 0x4000}, "0000000d" + "08" + "00000001" + "00004000" + "00004000"},
		{Message{ID: Port, Port: 6881}, "00000003" + "09" + "1ae1"},
		{Message{ID: Suggest, Index: 5}, "00000005" + "0d" + "00000005"},
		{Message{ID: HaveAll}, "000000010e"},
		{Message{ID: HaveNone}, "000000010f"},
		{Message{ID: Reject, Index: 1, Begin: 2, Length: 3}, "0000000d" + "10" + "00000001" + "00000002" + "00000003"},
		{Message{ID: AllowedFast, Index: 1059}, "00000005" + "11" + "00000423"},
		{Message{ID: Extended, ExtendedID: 0, Payload: []byte("de")}, "00000004" + "14" + "00" + "6465"},
	} {
		got := hex.EncodeToString(AppendMessage(nil, &tc.m))
		if got != tc.hex {
			t.Errorf("%v: got %s, want %s", tc.m.ID, got, tc.hex)
		}
		raw, _ := hex.DecodeString(tc.hex)
		var m Message
		if err := NewDecoder(bytes.NewReader(raw), 0).Decode(&m); err != nil {
			t.Errorf("%v: decoding the spec bytes: %v", tc.m.ID, err)
		} else if !reflect.DeepEqual(normalize(m), normalize(tc.m)) {
			t.Errorf("%v: decoded %+v, want %+v", tc.m.ID, m, tc.m)
		}
	}
}

func TestAppendMessageAppends(t *testing.T) {
	got := AppendMessage([]byte("xy"), &Message{ID: Have, Index: 1})
	if string(got) != "xy\x00\x00\x00\x05\x04\x00\x00\x00\x01" {
		t.Fatalf("got %q", got)
	}
}

func TestMessageIDString(t *testing.T) {
	for id, want := range map[MessageID]string{
		Choke: "choke", NotInterested: "not interested", Piece: "piece", Port: "port",
		HaveAll: "have all", AllowedFast: "allowed fast", Extended: "extended",
		10: "unknown(10)", 255: "unknown(255)",
	} {
		if got := id.String(); got != want {
			t.Errorf("%d: got %q, want %q", uint8(id), got, want)
		}
	}
	known := 0
	for id := range 256 {
		if MessageID(id).Known() {
			known++
		}
	}
	if known != 16 {
		t.Fatalf("%d known IDs, want 16", known)
	}
}

func TestDecodeMalformed(t *testing.T) {
	msg := func(length uint32, id byte, rest int) string {
		b := []byte{byte(length >> 24), byte(length >> 16), byte(length >> 8), byte(length), id}
		return string(b) + strings.Repeat("\x00", rest)
	}
	type tc struct {
		name  string
		input string
		max   uint32
		is    error
	}
	cases := []tc{
		{"too long", "\x00\x04\x00\x01\x07", 0x40000, ErrMessageTooLong},
		{"too long, small limit", msg(100, 7, 99), 99, ErrMessageTooLong},
		{"huge length", "\xff\xff\xff\xff", 0, ErrMessageTooLong},
		{"bitfield empty", msg(1, 5, 0), 0, nil}, // framing allows it; ValidateBitfield rejects
		{"piece short", msg(8, 7, 7), 0, ErrBadLength},
		{"piece just id", msg(1, 7, 0), 0, ErrBadLength},
		{"extended no id", msg(1, 20, 0), 0, ErrBadLength},
		{"eof in prefix", "\x00\x00", 0, io.ErrUnexpectedEOF},
		{"eof before id", "\x00\x00\x00\x05", 0, io.ErrUnexpectedEOF},
		{"eof in body", msg(5, 4, 2), 0, io.ErrUnexpectedEOF},
		{"eof in piece", msg(9+BlockSize, 7, 100), 0, io.ErrUnexpectedEOF},
	}
	fixed := map[MessageID]uint32{Choke: 1, Unchoke: 1, Interested: 1, NotInterested: 1,
		HaveAll: 1, HaveNone: 1, Have: 5, Suggest: 5, AllowedFast: 5,
		Request: 13, Cancel: 13, Reject: 13, Port: 3}
	for id, n := range fixed {
		cases = append(cases,
			tc{id.String() + " long", msg(n+1, byte(id), int(n)), 0, ErrBadLength},
			tc{id.String() + " much too long", msg(n+1000, byte(id), 0), 0, ErrBadLength})
		if n > 1 {
			cases = append(cases, tc{id.String() + " short", msg(n-1, byte(id), int(n)), 0, ErrBadLength})
		}
	}
	for _, id := range []byte{10, 11, 12, 18, 19, 21, 22, 0x7f, 0xff} {
		cases = append(cases, tc{MessageID(id).String(), msg(1, id, 0), 0, ErrUnknownMessage})
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d := NewDecoder(strings.NewReader(c.input), c.max)
			m := Message{ID: Piece, Index: 99, Block: []byte("stale")}
			err := d.Decode(&m)
			if !errors.Is(err, c.is) || (c.is == nil) != (err == nil) {
				t.Fatalf("got %v, want %v", err, c.is)
			}
			if err == nil {
				return
			}
			if !strings.HasPrefix(err.Error(), "peerwire: ") {
				t.Errorf("error %q lacks the package prefix", err)
			}
			if !reflect.DeepEqual(m, Message{}) {
				t.Errorf("message not cleared on error: %+v", m)
			}
			if IsProtocolError(err) == (c.is == io.ErrUnexpectedEOF) {
				t.Errorf("IsProtocolError(%v) is wrong", err)
			}
			if err2 := d.Decode(&m); err2 != err {
				t.Errorf("second Decode: got %v, want the same error %v", err2, err)
			}
		})
	}
}

func TestUnknownMessageError(t *testing.T) {
	err := NewDecoder(strings.NewReader("\x00\x00\x00\x03\x2a\x00\x00"), 0).Decode(new(Message))
	var ue *UnknownMessageError
	if !errors.As(err, &ue) || ue.ID != 42 || ue.Length != 3 {
		t.Fatalf("got %#v", err)
	}
	if err.Error() != "peerwire: unknown message id 42 (length 3)" {
		t.Fatalf("got %q", err)
	}
}

func TestBadLengthNamesMessage(t *testing.T) {
	err := NewDecoder(strings.NewReader("\x00\x00\x00\x0e\x06"), 0).Decode(new(Message))
	if err == nil || err.Error() != "peerwire: wrong message length: request message of length 14, want 13" {
		t.Fatalf("got %v", err)
	}
}

// countingReader reports how many bytes were read from it.
type countingReader struct {
	r io.Reader
	n int
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += n
	return n, err
}

func TestRejectsBeforeReadingBody(t *testing.T) {
	// A too-long message is rejected after the 4-byte prefix, a bad Request
	// after its ID, without buffering megabytes first.
	big := bytes.Repeat([]byte{0}, 1<<20)
	for _, head := range []string{"\x00\x10\x00\x00", "\x00\x00\xff\xff\x06"} {
		d := NewDecoder(io.MultiReader(strings.NewReader(head), bytes.NewReader(big)), 1<<17)
		if err := d.Decode(new(Message)); !IsProtocolError(err) {
			t.Fatalf("got %v", err)
		}
		if cap(d.buf) != 0 {
			t.Fatalf("allocated %d bytes for a rejected message", cap(d.buf))
		}
	}
}

func TestGrowsOnlyAsBytesArrive(t *testing.T) {
	// A peer announcing a 1 MiB piece and sending 10 bytes costs little.
	d := NewDecoder(strings.NewReader("\x00\x10\x00\x00\x07"+strings.Repeat("x", 10)), 1<<21)
	if err := d.Decode(new(Message)); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("got %v", err)
	}
	if cap(d.buf) > growStep {
		t.Fatalf("allocated %d bytes for 10 received", cap(d.buf))
	}
}

func TestSlicesReusedAcrossDecodes(t *testing.T) {
	// Documented behaviour: Block is valid only until the next Decode, and
	// a later, shorter message reuses the same memory.
	a := Message{ID: Piece, Block: testbytes.Bytes(1, 100)}
	b := Message{ID: Piece, Block: testbytes.Bytes(2, 50)}
	wire := AppendMessage(AppendMessage(nil, &a), &b)
	d := NewDecoder(bytes.NewReader(wire), 0)
	var m1, m2 Message
	if err := d.Decode(&m1); err != nil {
		t.Fatal(err)
	}
	first := m1.Block
	if !bytes.Equal(first, a.Block) {
		t.Fatal("first block wrong")
	}
	if err := d.Decode(&m2); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(m2.Block, b.Block) || &first[0] != &m2.Block[0] {
		t.Fatal("second block wrong or buffer not reused")
	}
}

func TestMessageString(t *testing.T) {
	for _, tc := range []struct {
		m    Message
		want string
	}{
		{Message{Keepalive: true}, "keepalive"},
		{Message{ID: Unchoke}, "unchoke"},
		{Message{ID: Have, Index: 3}, "have(index=3)"},
		{Message{ID: Request, Index: 1, Begin: 16384, Length: 16384}, "request(index=1 begin=16384 length=16384)"},
		{Message{ID: Piece, Index: 1, Block: make([]byte, 10)}, "piece(index=1 begin=0, 10 bytes)"},
		{Message{ID: Bitfield, Bitfield: make([]byte, 2)}, "bitfield(2 bytes)"},
		{Message{ID: Port, Port: 6881}, "port(6881)"},
		{Message{ID: Extended, ExtendedID: 2, Payload: make([]byte, 5)}, "extended(id=2, 5 bytes)"},
		{Message{ID: 99}, "unknown(99)"},
	} {
		if got := tc.m.String(); got != tc.want {
			t.Errorf("got %q, want %q", got, tc.want)
		}
	}
}

func TestAppendPieceEncodesLikeAppendMessage(t *testing.T) {
	block := []byte("0123456789abcdef-block")
	want := AppendMessage([]byte("prefix"), &Message{ID: Piece, Index: 7, Begin: 16384, Block: block})
	got, place := AppendPiece([]byte("prefix"), 7, 16384, len(block))
	copy(place, block)
	if !bytes.Equal(got, want) {
		t.Fatalf("AppendPiece = %x, want %x", got, want)
	}
}
