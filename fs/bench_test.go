package fs

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/torrentfs/torrentfs/internal/testbytes"
)

// BenchmarkSequentialRead measures reading through the mount from a reader
// that answers at once (the cost of FUSE and of fs itself). Each iteration
// reads a new file, so the page cache never answers.
func BenchmarkSequentialRead(b *testing.B) {
	if _, err := os.Stat("/dev/fuse"); err != nil {
		b.Skip("fs: /dev/fuse is not available: ", err)
	}
	const size = 64 << 20
	s, err := Mount(b.TempDir(), Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := s.Unmount(ctx); err != nil {
			b.Error(err)
		}
	}()
	buf := make([]byte, 1<<20)
	data := testbytes.Bytes(1, size)
	b.SetBytes(size)
	b.ResetTimer()
	for i := range b.N {
		name := fmt.Sprintf("f%d", i)
		add(b, s, &memTorrent{name: name, data: data})
		f, err := os.Open(filepath.Join(s.Dir(), name))
		if err != nil {
			b.Fatal(err)
		}
		n, err := io.CopyBuffer(io.Discard, struct{ io.Reader }{f}, buf)
		f.Close()
		if err != nil || n != size {
			b.Fatalf("read %d bytes, %v", n, err)
		}
	}
}

// memTorrent is one file served from memory, always ready.
type memTorrent struct {
	name string
	data []byte
}

func (t *memTorrent) Files() []File {
	return []File{{Path: []string{t.name}, Length: int64(len(t.data))}}
}
func (t *memTorrent) NewReader(int) FileReader { return memReader{t.data} }

type memReader struct{ data []byte }

func (r memReader) ReadAt(ctx context.Context, p []byte, off int64) (int, error) {
	if off >= int64(len(r.data)) {
		return 0, io.EOF
	}
	n := copy(p, r.data[off:])
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}
func (r memReader) Ready(int64, int) bool { return true }
func (r memReader) Close() error          { return nil }
