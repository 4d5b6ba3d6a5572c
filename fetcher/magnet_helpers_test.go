package fetcher_test

import (
	"bufio"
	"io"
	"net"
	"net/netip"
	"sync"
	"testing"

	"github.com/torrentfs/torrentfs/fetcher/peerwire"
	"github.com/torrentfs/torrentfs/metainfo"
)

// fakeMetaPeer is a hand-written peer that offers metadata_size and
// serves info (which may be anything) to ut_metadata requests.
type fakeMetaPeer struct {
	ln     net.Listener
	served chan int      // each piece served, buffered
	ended  chan struct{} // a token each time a connection ends, buffered
	wg     sync.WaitGroup
	mu     sync.Mutex // guards conns
	conns  []net.Conn
}

// ourMetaID is the id the fake peer gives ut_metadata in its handshake.
const ourMetaID = 3

func startFakeMetaPeer(t *testing.T, ih metainfo.InfoHash, info []byte, size int64) (*fakeMetaPeer, netip.AddrPort) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	fp := &fakeMetaPeer{ln: ln, served: make(chan int, 4096), ended: make(chan struct{}, 64)}
	fp.wg.Go(func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			fp.mu.Lock()
			fp.conns = append(fp.conns, conn)
			fp.mu.Unlock()
			fp.wg.Go(func() { fp.serve(conn, ih, info, size) })
		}
	})
	t.Cleanup(func() {
		ln.Close()
		fp.mu.Lock()
		for _, c := range fp.conns {
			c.Close()
		}
		fp.mu.Unlock()
		fp.wg.Wait()
	})
	return fp, netip.MustParseAddrPort(ln.Addr().String())
}

func (fp *fakeMetaPeer) serve(conn net.Conn, ih metainfo.InfoHash, info []byte, size int64) {
	defer func() {
		conn.Close()
		select {
		case fp.ended <- struct{}{}:
		default:
		}
	}()
	br := bufio.NewReader(conn)
	if _, err := peerwire.ReadHandshake(br); err != nil {
		return
	}
	h := peerwire.Handshake{InfoHash: ih}
	copy(h.PeerID[:], "-FK0001-fakefakefake")
	h.SetExtended()
	if err := peerwire.WriteHandshake(conn, h); err != nil {
		return
	}
	hs, _ := metainfo.Encode(map[string]any{"m": map[string]any{"ut_metadata": ourMetaID}, "metadata_size": size})
	if _, err := conn.Write(peerwire.AppendMessage(nil, &peerwire.Message{ID: peerwire.Extended, Payload: hs})); err != nil {
		return
	}
	theirID := uint8(0)
	dec := peerwire.NewDecoder(br, 1<<20)
	var m peerwire.Message
	for {
		if err := dec.Decode(&m); err != nil {
			return
		}
		if m.ID != peerwire.Extended {
			continue
		}
		if m.ExtendedID == 0 {
			v, _ := metainfo.Decode(m.Payload)
			d, _ := v.(map[string]any)
			mm, _ := d["m"].(map[string]any)
			id, _ := mm["ut_metadata"].(int64)
			theirID = uint8(id)
			continue
		}
		if m.ExtendedID != ourMetaID || theirID == 0 {
			continue
		}
		v, _, err := metainfo.DecodePrefix(m.Payload)
		if err != nil {
			return
		}
		d, _ := v.(map[string]any)
		piece, _ := d["piece"].(int64)
		off := min(int(piece)*16384, len(info))
		end := min(off+16384, len(info))
		hdr, _ := metainfo.Encode(map[string]any{"msg_type": 1, "piece": piece, "total_size": size})
		payload := append(hdr, info[off:end]...)
		if _, err := conn.Write(peerwire.AppendMessage(nil, &peerwire.Message{ID: peerwire.Extended, ExtendedID: theirID, Payload: payload})); err != nil {
			return
		}
		select {
		case fp.served <- int(piece):
		default:
		}
	}
}

// gatedProxy forwards connections to target, but only once open is
// closed: until then, accepted connections wait.
func gatedProxy(t *testing.T, target netip.AddrPort, open <-chan struct{}) netip.AddrPort {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	var mu sync.Mutex // guards conns
	var conns []net.Conn
	track := func(c net.Conn) {
		mu.Lock()
		conns = append(conns, c)
		mu.Unlock()
	}
	wg.Go(func() {
		for {
			in, err := ln.Accept()
			if err != nil {
				return
			}
			track(in)
			wg.Go(func() {
				select {
				case <-open:
				case <-done:
					return
				}
				out, err := net.Dial("tcp", target.String())
				if err != nil {
					in.Close()
					return
				}
				track(out)
				var pipes sync.WaitGroup
				pipes.Go(func() { io.Copy(out, in); out.Close() })
				pipes.Go(func() { io.Copy(in, out); in.Close() })
				pipes.Wait()
			})
		}
	})
	t.Cleanup(func() {
		close(done)
		ln.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	return netip.MustParseAddrPort(ln.Addr().String())
}
