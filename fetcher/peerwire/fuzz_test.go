package peerwire

import (
	"bytes"
	"errors"
	"io"
	"testing"
)

func FuzzDecode(f *testing.F) {
	msgs := allMessages()
	var all []byte
	for i := range msgs {
		one := AppendMessage(nil, &msgs[i])
		if len(one) < 64 {
			f.Add(one, uint32(0))
		}
		all = AppendMessage(all, &msgs[i])
	}
	f.Add(all[:200], uint32(0))
	f.Add([]byte("\x00\x00\x00\x0d\x06\x00\x00\x00\x01"), uint32(0))
	f.Add([]byte("\x00\x00\x00\x0e\x06"), uint32(0))
	f.Add([]byte("\x00\x00\x01\x00\x07\x00\x00"), uint32(16))
	f.Add([]byte("\x00\x00\x00\x01\x2a"), uint32(0))
	f.Add([]byte("\xff\xff\xff\xff\x07"), uint32(0xffffffff))
	f.Fuzz(func(t *testing.T, data []byte, maxLength uint32) {
		d := NewDecoder(bytes.NewReader(data), maxLength)
		var enc []byte
		var m Message
		for {
			err := d.Decode(&m)
			if err != nil {
				if err == io.EOF && len(enc) != len(data) {
					t.Fatalf("io.EOF after %d of %d bytes", len(enc), len(data))
				}
				if err != io.EOF && !IsProtocolError(err) && !errors.Is(err, io.ErrUnexpectedEOF) {
					t.Fatalf("unexpected error kind: %v", err)
				}
				if err2 := d.Decode(&m); err2 != err {
					t.Fatalf("error not sticky: %v then %v", err, err2)
				}
				return
			}
			enc = AppendMessage(enc, &m)
			if !bytes.HasPrefix(data, enc) {
				t.Fatalf("re-encoding %+v does not reproduce the input", m)
			}
		}
	})
}

func FuzzHandshake(f *testing.F) {
	h := testHandshake()
	f.Add(AppendHandshake(nil, h))
	h.SetExtended()
	h.SetFast()
	f.Add(append(AppendHandshake(nil, h), "\x00\x00\x00\x01\x0e"...))
	f.Add([]byte(Protocol))
	f.Add([]byte("\x13BitTorrent protocoL" + string(make([]byte, 48))))
	f.Add([]byte("GET /announce HTTP/1.1\r\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		r := bytes.NewReader(data)
		got, err := ReadHandshake(r)
		if err != nil {
			if len(data) >= HandshakeLen && string(data[:20]) == Protocol {
				t.Fatalf("valid handshake rejected: %v", err)
			}
			return
		}
		if len(data)-r.Len() != HandshakeLen {
			t.Fatalf("consumed %d bytes", len(data)-r.Len())
		}
		if enc := AppendHandshake(nil, got); !bytes.Equal(enc, data[:HandshakeLen]) {
			t.Fatalf("re-encoding differs:\n%q\n%q", enc, data[:HandshakeLen])
		}
		if got.Fast() != (data[27]&4 != 0) || got.Extended() != (data[25]&0x10 != 0) {
			t.Fatal("reserved bits misread")
		}
	})
}
