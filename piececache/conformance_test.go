package piececache

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"sync"
	"testing"

	"github.com/torrentfs/torrentfs/internal/leakcheck"
)

// The conformance suite runs the same behaviours against Cache and Memory,
// so that tests written against Memory hold for the real cache.

type storeFactory struct {
	name string
	open func(t *testing.T) store
}

func factories() []storeFactory {
	return []storeFactory{
		{"Badger", func(t *testing.T) store { c, _ := openTest(t, Options{}); return c }},
		{"Memory", func(t *testing.T) store { m := NewMemory(); t.Cleanup(func() { m.Close() }); return m }},
	}
}

var conformance = []struct {
	name string
	run  func(t *testing.T, s store)
}{
	{"RangesAtChunkBoundaries", testRanges},
	{"ShortLastPiece", testShortLastPiece},
	{"ReadPastEnd", testReadPastEnd},
	{"Absent", testAbsent},
	{"Overwrite", testOverwrite},
	{"PutCopiesData", testPutCopies},
	{"ManyTorrents", testManyTorrents},
	{"Concurrent", testConcurrent},
	{"CancelledContext", testCancelled},
	{"InvalidArguments", testInvalid},
	{"AfterClose", testAfterClose},
}

func TestConformance(t *testing.T) {
	for _, f := range factories() {
		t.Run(f.name, func(t *testing.T) {
			for _, c := range conformance {
				t.Run(c.name, func(t *testing.T) {
					t.Cleanup(leakcheck.Check(t)) // runs after the store's own Cleanup closes it
					c.run(t, f.open(t))
				})
			}
		})
	}
}

// checkRead compares s.ReadAt with bytes.Reader.ReadAt over want, the
// io.ReaderAt the piece should behave like.
func checkRead(t *testing.T, s store, ih [20]byte, piece int, want []byte, off int64, n int) {
	t.Helper()
	got := make([]byte, n)
	gn, gerr := s.ReadAt(context.Background(), ih, piece, got, off)
	exp := make([]byte, n)
	en, eerr := bytes.NewReader(want).ReadAt(exp, off)
	if gn != en || (gerr == io.EOF) != (eerr == io.EOF) || (gerr != nil && gerr != io.EOF) {
		t.Fatalf("ReadAt(piece %d, %d bytes at %d) = %d, %v; want %d, %v", piece, n, off, gn, gerr, en, eerr)
	}
	if !bytes.Equal(got[:gn], exp[:en]) {
		t.Fatalf("ReadAt(piece %d, %d bytes at %d) returned wrong bytes", piece, n, off)
	}
}

func mustPut(t *testing.T, s store, ih [20]byte, piece int, data []byte) {
	t.Helper()
	if err := s.Put(context.Background(), ih, piece, data); err != nil {
		t.Fatalf("Put(piece %d): %v", piece, err)
	}
}

func testRanges(t *testing.T, s store) {
	ih := hash(1)
	data := pieceData(1, 0, 256<<10)
	mustPut(t, s, ih, 0, data)
	C := int64(ChunkSize)
	for _, r := range []struct {
		off int64
		n   int
	}{
		{0, 1}, {0, ChunkSize}, {0, ChunkSize + 1}, {C - 1, 1}, {C - 1, 2}, {C, ChunkSize},
		{C - 10, ChunkSize + 20}, {2*C + 5, 128 << 10}, {0, 256 << 10}, {3*C - 1, ChunkSize + 2},
		{4*C - 1, 1}, {100, 0}, {0, 128 << 10}, {128 << 10, 128 << 10},
	} {
		checkRead(t, s, ih, 0, data, r.off, r.n)
	}
}

func testShortLastPiece(t *testing.T, s store) {
	ih := hash(2)
	sizes := []int{256 << 10, 256 << 10, 1000}
	for p, n := range sizes {
		mustPut(t, s, ih, p, pieceData(2, p, n))
	}
	last := pieceData(2, 2, 1000)
	checkRead(t, s, ih, 2, last, 0, 1000)
	checkRead(t, s, ih, 2, last, 0, 16<<10) // a whole block asked, 1000 bytes given
	checkRead(t, s, ih, 2, last, 999, 1)
	checkRead(t, s, ih, 2, last, 500, 1000)
	checkRead(t, s, ih, 1, pieceData(2, 1, 256<<10), 200<<10, 128<<10)
}

func testReadPastEnd(t *testing.T, s store) {
	ih := hash(3)
	data := pieceData(3, 7, 70000) // just over one chunk
	mustPut(t, s, ih, 7, data)
	checkRead(t, s, ih, 7, data, 70000, 10)
	checkRead(t, s, ih, 7, data, 70001, 10)
	checkRead(t, s, ih, 7, data, 1<<40, 10)
	checkRead(t, s, ih, 7, data, 69990, 100)
	checkRead(t, s, ih, 7, data, 70000, 0)
	n, err := s.ReadAt(context.Background(), ih, 7, make([]byte, 100), 69990)
	if n != 10 || err != io.EOF {
		t.Fatalf("ReadAt across the end = %d, %v; want 10, io.EOF", n, err)
	}
}

func testAbsent(t *testing.T, s store) {
	ih := hash(4)
	mustPut(t, s, ih, 1, pieceData(4, 1, 5000))
	for _, c := range []struct {
		ih    [20]byte
		piece int
	}{{ih, 0}, {ih, 2}, {hash(5), 1}} {
		if s.Has(c.ih, c.piece) {
			t.Errorf("Has(%x, %d) = true for a piece never stored", c.ih[:4], c.piece)
		}
		if _, err := s.ReadAt(context.Background(), c.ih, c.piece, make([]byte, 10), 0); !errors.Is(err, ErrNotFound) {
			t.Errorf("ReadAt(%x, %d) error = %v, want ErrNotFound", c.ih[:4], c.piece, err)
		}
	}
	if !s.Has(ih, 1) {
		t.Errorf("Has(stored piece) = false")
	}
	got, err := s.Pieces(context.Background(), hash(5))
	if err != nil || len(got) != 0 {
		t.Errorf("Pieces(unknown torrent) = %v, %v; want none", got, err)
	}
}

func testOverwrite(t *testing.T, s store) {
	ih := hash(6)
	mustPut(t, s, ih, 3, pieceData(6, 0, 300<<10))
	second := pieceData(6, 1, 200<<10) // other bytes, other length
	mustPut(t, s, ih, 3, second)
	checkRead(t, s, ih, 3, second, 0, 300<<10)
	checkRead(t, s, ih, 3, second, 150<<10, 128<<10)
	if got, _ := s.Pieces(context.Background(), ih); !slices.Equal(got, []int{3}) {
		t.Errorf("Pieces after overwrite = %v, want [3]", got)
	}
	if st := s.Stats(); st.Pieces != 1 || st.Torrents != 1 || !aboutBytes(st.Bytes, 200<<10, 1) {
		t.Errorf("Stats after overwrite = %+v, want 1 piece of about 200 KiB", st)
	}
}

func testPutCopies(t *testing.T, s store) {
	ih := hash(7)
	buf := pieceData(7, 0, 100<<10)
	want := bytes.Clone(buf)
	mustPut(t, s, ih, 0, buf)
	for i := range buf {
		buf[i] = 0xAA
	}
	checkRead(t, s, ih, 0, want, 0, len(want))
	// And ReadAt's buffer is the caller's: scribbling on it changes nothing.
	p := make([]byte, 1000)
	s.ReadAt(context.Background(), ih, 0, p, 0)
	clear(p)
	checkRead(t, s, ih, 0, want, 0, 1000)
}

func testManyTorrents(t *testing.T, s store) {
	const torrents, size = 20, 4 << 10
	for tr := range torrents {
		// Torrent tr holds pieces tr, tr+3, tr+6, ... (in scrambled order).
		for _, p := range []int{tr + 6, tr, tr + 3} {
			mustPut(t, s, hash(100+tr), p, pieceData(100+tr, p, size))
		}
	}
	for tr := range torrents {
		got, err := s.Pieces(context.Background(), hash(100+tr))
		if want := []int{tr, tr + 3, tr + 6}; err != nil || !slices.Equal(got, want) {
			t.Fatalf("Pieces(torrent %d) = %v, %v; want %v", tr, got, err, want)
		}
		checkRead(t, s, hash(100+tr), tr+3, pieceData(100+tr, tr+3, size), 0, size)
		if s.Has(hash(100+tr), tr+1) {
			t.Fatalf("torrent %d: Has(%d) = true", tr, tr+1)
		}
	}
	if st := s.Stats(); st.Torrents != torrents || st.Pieces != 3*torrents || st.Bytes < 3*torrents*size {
		t.Errorf("Stats = %+v, want %d torrents, %d pieces, >= %d bytes", st, torrents, 3*torrents, 3*torrents*size)
	}
}

func testConcurrent(t *testing.T, s store) {
	const writers, perWriter, size = 6, 8, 64<<10 + 100
	ih := hash(8)
	var wg sync.WaitGroup
	errs := make(chan error, 100)
	stop := make(chan struct{})
	for w := range writers {
		wg.Go(func() {
			for i := range perWriter {
				p := w*perWriter + i
				data := pieceData(8, p, size)
				if err := s.Put(context.Background(), ih, p, data); err != nil {
					errs <- err
					return
				}
				// Once Put returned, the piece must be readable.
				got := make([]byte, size)
				if n, err := s.ReadAt(context.Background(), ih, p, got, 0); n != size || err != nil || !bytes.Equal(got, data) {
					errs <- fmt.Errorf("read after put of piece %d: %d, %v", p, n, err)
					return
				}
			}
		})
	}
	var readers sync.WaitGroup
	for r := range 4 {
		readers.Go(func() {
			got := make([]byte, 128<<10)
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				p := (i*7 + r) % (writers * perWriter)
				if !s.Has(ih, p) {
					continue
				}
				n, err := s.ReadAt(context.Background(), ih, p, got, 100)
				if n != size-100 || err != io.EOF || !bytes.Equal(got[:n], pieceData(8, p, size)[100:]) {
					errs <- fmt.Errorf("concurrent read of piece %d: %d, %v", p, n, err)
					return
				}
			}
		})
	}
	wg.Wait()
	close(stop)
	readers.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	got, _ := s.Pieces(context.Background(), ih)
	if len(got) != writers*perWriter {
		t.Errorf("Pieces after concurrent puts: %d pieces, want %d", len(got), writers*perWriter)
	}
}

func testCancelled(t *testing.T, s store) {
	ih := hash(9)
	mustPut(t, s, ih, 0, pieceData(9, 0, 1000))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := s.Put(ctx, ih, 1, pieceData(9, 1, 1000)); !errors.Is(err, context.Canceled) {
		t.Errorf("Put with cancelled ctx = %v, want context.Canceled", err)
	}
	if s.Has(ih, 1) {
		t.Errorf("Put with cancelled ctx stored the piece")
	}
	if _, err := s.ReadAt(ctx, ih, 0, make([]byte, 10), 0); !errors.Is(err, context.Canceled) {
		t.Errorf("ReadAt with cancelled ctx = %v, want context.Canceled", err)
	}
	if _, err := s.Pieces(ctx, ih); !errors.Is(err, context.Canceled) {
		t.Errorf("Pieces with cancelled ctx = %v, want context.Canceled", err)
	}
}

func testInvalid(t *testing.T, s store) {
	ctx := context.Background()
	ih := hash(10)
	for _, c := range []struct {
		piece int
		data  []byte
	}{{-1, []byte{1}}, {1 << 33, []byte{1}}, {0, nil}, {0, make([]byte, MaxPieceSize+1)}} {
		if err := s.Put(ctx, ih, c.piece, c.data); !errors.Is(err, ErrInvalid) {
			t.Errorf("Put(piece %d, %d bytes) = %v, want ErrInvalid", c.piece, len(c.data), err)
		}
	}
	mustPut(t, s, ih, 0, []byte("x"))
	if _, err := s.ReadAt(ctx, ih, 0, make([]byte, 1), -1); !errors.Is(err, ErrInvalid) {
		t.Errorf("ReadAt at offset -1 = %v, want ErrInvalid", err)
	}
	if _, err := s.ReadAt(ctx, ih, 99, make([]byte, 1), -1); !errors.Is(err, ErrInvalid) {
		t.Errorf("ReadAt of an absent piece at offset -1 = %v, want ErrInvalid", err)
	}
	if _, err := s.ReadAt(ctx, ih, -1, make([]byte, 1), 0); !errors.Is(err, ErrNotFound) {
		t.Errorf("ReadAt of piece -1 = %v, want ErrNotFound", err)
	}
	if s.Has(ih, -1) {
		t.Errorf("Has(-1) = true")
	}
}

func testAfterClose(t *testing.T, s store) {
	ctx := context.Background()
	ih := hash(11)
	mustPut(t, s, ih, 0, []byte("x"))
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close = %v, want nil", err)
	}
	if err := s.Put(ctx, ih, 1, []byte("y")); !errors.Is(err, ErrClosed) {
		t.Errorf("Put after Close = %v, want ErrClosed", err)
	}
	if _, err := s.ReadAt(ctx, ih, 0, make([]byte, 1), 0); !errors.Is(err, ErrClosed) {
		t.Errorf("ReadAt after Close = %v, want ErrClosed", err)
	}
	if _, err := s.Pieces(ctx, ih); !errors.Is(err, ErrClosed) {
		t.Errorf("Pieces after Close = %v, want ErrClosed", err)
	}
	if s.Has(ih, 0) {
		t.Errorf("Has after Close = true")
	}
}
