package fetcher_test

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/torrentfs/torrentfs/fetcher"
	"github.com/torrentfs/torrentfs/fetcher/peerwire"
	"github.com/torrentfs/torrentfs/piececache"
)

// startSeederTorrent is startSeeder that also returns the seeder's
// Torrent, with opts adjusted by mod.
func startSeederTorrent(t *testing.T, f *fixture, mod func(*fetcher.Options)) (*fetcher.Client, *fetcher.Torrent) {
	t.Helper()
	store := piececache.NewMemory()
	f.fill(t, store)
	c := newClient(t, store, mod)
	tor, err := c.AddTorrent(context.Background(), f.mi)
	if err != nil {
		t.Fatal(err)
	}
	return c, tor
}

// watchPeer is a hand-driven peer that records what the client tells it.
// With active set it keeps pipeline requests outstanding while unchoked,
// so that the client measures an upload rate to it.
type watchPeer struct {
	name     string
	conn     net.Conn
	f        *fixture
	active   bool
	pipeline int
	done     chan struct{} // closed when the read loop ends

	wmu sync.Mutex // serialises writes to conn

	mu          sync.Mutex // guards the fields below
	choked      bool
	unchokes    int
	chokes      int
	allowed     []uint32
	blocks      map[[2]uint32][]byte // received blocks by (index, begin)
	pieces      int
	rejects     int
	outstanding int
	next        int                  // next piece to request when active
	ids         []peerwire.MessageID // every message but blocks, in order
}

// dialWatch connects a hand-driven peer with its own peer id.
func dialWatch(t *testing.T, addr net.Addr, f *fixture, id int, fast, active bool) *watchPeer {
	t.Helper()
	conn, err := net.Dial("tcp", addr.String())
	if err != nil {
		t.Fatal(err)
	}
	h := peerwire.Handshake{InfoHash: f.mi.InfoHash}
	copy(h.PeerID[:], fmt.Sprintf("-WP0001-%012d", id))
	if fast {
		h.SetFast()
	}
	if err := peerwire.WriteHandshake(conn, h); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(conn)
	if _, err := peerwire.ReadHandshake(br); err != nil {
		t.Fatal(err)
	}
	w := &watchPeer{name: fmt.Sprintf("peer%d", id), conn: conn, f: f, active: active, pipeline: 4,
		done: make(chan struct{}), choked: true, blocks: map[[2]uint32][]byte{}, next: id * 7}
	go w.readLoop(br)
	t.Cleanup(func() {
		conn.Close()
		<-w.done
	})
	return w
}

func (w *watchPeer) send(m *peerwire.Message) error {
	w.wmu.Lock()
	defer w.wmu.Unlock()
	w.conn.SetWriteDeadline(time.Now().Add(5 * time.Second))
	_, err := w.conn.Write(peerwire.AppendMessage(nil, m))
	return err
}

func (w *watchPeer) request(index, begin, length uint32) error {
	return w.send(&peerwire.Message{ID: peerwire.Request, Index: index, Begin: begin, Length: length})
}

func (w *watchPeer) readLoop(br *bufio.Reader) {
	defer close(w.done)
	dec := peerwire.NewDecoder(br, 1<<20)
	var m peerwire.Message
	for {
		if err := dec.Decode(&m); err != nil {
			return
		}
		w.mu.Lock()
		more := 0
		if m.ID != peerwire.Piece && !m.Keepalive {
			w.ids = append(w.ids, m.ID)
		}
		switch m.ID {
		case peerwire.Choke:
			w.choked = true
			w.chokes++
		case peerwire.Unchoke:
			w.choked = false
			w.unchokes++
			if w.active {
				more = w.pipeline - w.outstanding
			}
		case peerwire.AllowedFast:
			w.allowed = append(w.allowed, m.Index)
		case peerwire.Piece:
			w.pieces++
			w.blocks[[2]uint32{m.Index, m.Begin}] = append([]byte(nil), m.Block...)
			w.outstanding = max(w.outstanding-1, 0)
			if w.active && !w.choked {
				more = 1
			}
		case peerwire.Reject:
			w.rejects++
			w.outstanding = max(w.outstanding-1, 0)
		}
		var reqs []uint32
		for range more {
			reqs = append(reqs, uint32(w.next%w.f.mi.Info.NumPieces()))
			w.next++
			w.outstanding++
		}
		w.mu.Unlock()
		for _, i := range reqs {
			if w.request(i, 0, uint32(min(int64(peerwire.BlockSize), w.f.mi.Info.PieceSize(int(i))))) != nil {
				return
			}
		}
	}
}

// state returns a snapshot of what the peer was told.
func (w *watchPeer) state() (choked bool, unchokes, chokes, pieces, rejects int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.choked, w.unchokes, w.chokes, w.pieces, w.rejects
}

func (w *watchPeer) isChoked() bool {
	c, _, _, _, _ := w.state()
	return c
}

// waitFor polls cond until it holds or timeout passes.
func chokeWait(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("after %v: %s", timeout, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
