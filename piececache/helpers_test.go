package piececache

import (
	"os"
	"sync/atomic"
	"syscall"
	"testing"

	"github.com/torrentfs/torrentfs/internal/leakcheck"
	"github.com/torrentfs/torrentfs/internal/testbytes"
)

func TestMain(m *testing.M) { leakcheck.Main(m) }

// hash returns a deterministic info hash for n.
func hash(n int) [20]byte {
	var ih [20]byte
	copy(ih[:], testbytes.Bytes(uint64(1000+n), 20))
	return ih
}

// pieceData returns the deterministic content of piece p of torrent t.
func pieceData(t, p, size int) []byte {
	return testbytes.Bytes(uint64(t)<<32|uint64(p), size)
}

// openTest opens a Cache in a fresh temporary directory and closes it at
// the end of the test.
func openTest(t testing.TB, opts Options) (*Cache, string) {
	t.Helper()
	dir := t.TempDir()
	c, err := Open(dir, opts)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c, dir
}

// atomicInt hands out 0, 1, 2, ... to concurrent callers.
type atomicInt struct{ n atomic.Int64 }

func (a *atomicInt) add() int { return int(a.n.Add(1) - 1) }

// osReadDir lists the names in dir.
func osReadDir(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	names := make([]string, len(entries))
	for i, e := range entries {
		names[i] = e.Name()
	}
	return names, err
}

// allocated is what du counts for one file.
func allocated(path string) int64 {
	fi, err := os.Stat(path)
	if err != nil {
		return 0
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return st.Blocks * 512
	}
	return 0
}

// aboutBytes reports whether got is what a store may count for pieces
// pieces holding want bytes in all: Memory counts the bytes, Cache their
// files' headers too, in whole blocks.
func aboutBytes(got, want int64, pieces int) bool {
	return got >= want && got <= want+int64(pieces)*(diskBlock+1024)
}
