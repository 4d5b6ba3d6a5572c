package peerwire

import (
	"bytes"
	"errors"
	"io"
	"reflect"
	"testing"
	"testing/iotest"
)

// Messages split across reads in every way still decode, and read errors
// other than EOF come through wrapped.
func TestDecodeAwkwardReaders(t *testing.T) {
	msgs := allMessages()
	var wire []byte
	for i := range msgs {
		wire = AppendMessage(wire, &msgs[i])
	}
	for name, r := range map[string]io.Reader{
		"one byte":  iotest.OneByteReader(bytes.NewReader(wire)),
		"half":      iotest.HalfReader(bytes.NewReader(wire)),
		"data+EOF":  iotest.DataErrReader(bytes.NewReader(wire)),
		"bufio big": bytes.NewReader(wire),
	} {
		d := NewDecoder(r, 0)
		for i, want := range msgs {
			var got Message
			if err := d.Decode(&got); err != nil {
				t.Fatalf("%s: message %d: %v", name, i, err)
			}
			if !reflect.DeepEqual(normalize(got), normalize(want)) {
				t.Fatalf("%s: message %d: got %+v", name, i, got)
			}
		}
		if err := d.Decode(new(Message)); err != io.EOF {
			t.Fatalf("%s: at the end: %v", name, err)
		}
	}
}

func TestDecodeReadError(t *testing.T) {
	wire := AppendMessage(nil, &Message{ID: Piece, Block: make([]byte, 100)})
	// The timeout hits in the middle of the message.
	r := iotest.TimeoutReader(iotest.OneByteReader(bytes.NewReader(wire)))
	d := NewDecoder(r, 0)
	err := d.Decode(new(Message))
	if !errors.Is(err, iotest.ErrTimeout) || IsProtocolError(err) {
		t.Fatalf("got %v", err)
	}
}

func TestReadHandshakeOneByte(t *testing.T) {
	h := testHandshake()
	h.SetFast()
	got, err := ReadHandshake(iotest.OneByteReader(bytes.NewReader(AppendHandshake(nil, h))))
	if err != nil || got != h {
		t.Fatalf("%v %+v", err, got)
	}
}
