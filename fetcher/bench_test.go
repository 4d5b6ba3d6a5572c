package fetcher_test

import (
	"bytes"
	"context"
	"io"
	"testing"
)

// BenchmarkSequentialRead reads a 64 MiB file (1 MiB pieces) from one
// in-process seeder over loopback, in 128 KiB reads as the kernel sends
// them, into an empty memory store.
func BenchmarkSequentialRead(b *testing.B) {
	f := newFixture(b, 1<<20, 64<<20)
	_, seed := startSeeder(b, f)
	b.SetBytes(int64(len(f.files[0])))
	b.ResetTimer()
	for range b.N {
		leech := newClient(b, nil, nil)
		tor, err := leech.AddTorrent(context.Background(), f.mi)
		if err != nil {
			b.Fatal(err)
		}
		tor.AddPeers(seed)
		r := tor.NewReader(0)
		buf := make([]byte, 128<<10)
		for off := 0; off < len(f.files[0]); {
			n, err := r.ReadAt(context.Background(), buf, int64(off))
			if err != nil && err != io.EOF {
				b.Fatal(err)
			}
			if !bytes.Equal(buf[:n], f.files[0][off:off+n]) {
				b.Fatalf("bytes at %d differ", off)
			}
			off += n
		}
		r.Close()
		leech.Close()
	}
}
