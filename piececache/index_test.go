package piececache

import (
	"runtime"
	"slices"
	"testing"
)

// lruOrder lists the index from least to most recently used.
func lruOrder(x *index) []uint32 {
	var out []uint32
	for s := x.tail; s != none; s = x.nodes[s].prev {
		out = append(out, x.nodes[s].piece)
	}
	return out
}

func TestIndexLRU(t *testing.T) {
	x := newIndex()
	id := func(p uint32) pieceID { return pieceID{hash(int(p % 2)), p} }
	for p := range uint32(6) {
		x.add(id(p), int64(100+p))
	}
	x.touch(id(0))
	x.touch(id(3))
	x.touch(id(3))
	if got, want := lruOrder(x), []uint32{1, 2, 4, 5, 0, 3}; !slices.Equal(got, want) {
		t.Fatalf("LRU order %v, want %v", got, want)
	}
	if got := x.remove(id(1)); got != 101 {
		t.Fatalf("remove returned %d, want 101", got)
	}
	if x.remove(id(1)) != 0 || x.touch(id(1)) || x.has(id(1)) {
		t.Fatalf("removed piece still known")
	}
	if old := x.add(id(2), 500); old != 102 {
		t.Fatalf("re-add returned %d, want 102", old)
	}
	x.add(id(7), 7) // reuses the freed slot
	if len(x.nodes) != 6 {
		t.Errorf("%d slots for 6 pieces", len(x.nodes))
	}
	if got, want := lruOrder(x), []uint32{4, 5, 0, 3, 2, 7}; !slices.Equal(got, want) {
		t.Fatalf("LRU order %v, want %v", got, want)
	}
	if o, _ := x.oldest(); o != id(4) {
		t.Errorf("oldest = %v", o)
	}
	if st := x.stats(); st.Pieces != 6 || st.Torrents != 2 || st.Bytes != 100+103+104+105+500+7 {
		t.Errorf("stats = %+v", st)
	}
	if got := x.list(hash(1)); !slices.Equal(got, []int{3, 5, 7}) {
		t.Errorf("list = %v", got)
	}
	for _, p := range []uint32{4, 5, 0, 3, 2, 7} {
		x.remove(id(p))
	}
	if _, ok := x.oldest(); ok || x.head != none || len(x.torrents) != 0 || x.stats() != (Stats{}) {
		t.Errorf("index not empty after removing everything: %+v", x.stats())
	}
}

func TestIndexMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("allocates")
	}
	var a, b runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&a)
	x := newIndex()
	const torrents, per = 10, 20000
	for tr := range torrents {
		for p := range per {
			x.add(pieceID{hash(tr), uint32(p)}, 1<<20)
		}
	}
	runtime.GC()
	runtime.ReadMemStats(&b)
	perPiece := float64(b.HeapAlloc-a.HeapAlloc) / (torrents * per)
	t.Logf("index: %.0f bytes a piece", perPiece)
	if perPiece > 64 {
		t.Errorf("index takes %.0f bytes a piece, want at most 64", perPiece)
	}
	runtime.KeepAlive(x)
}
