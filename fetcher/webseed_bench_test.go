package fetcher_test

import (
	"bytes"
	"context"
	"io"
	"testing"
	"time"
)

// BenchmarkWebseedSequentialRead reads a 64 MiB file (256 KiB pieces) from
// one in-process web seed over loopback that answers after 20 ms, like a
// server across the internet, and no peers, in 128 KiB reads.
func BenchmarkWebseedSequentialRead(b *testing.B) {
	f := newFixture(b, 256<<10, 64<<20)
	ws := startWebServer(b, f.mi, f.stream)
	ws.delay.Store(int64(20 * time.Millisecond))
	b.SetBytes(int64(len(f.files[0])))
	b.ResetTimer()
	for range b.N {
		leech := newClient(b, nil, nil)
		tor, err := leech.AddTorrent(context.Background(), withWebseeds(f.mi, ws.base()))
		if err != nil {
			b.Fatal(err)
		}
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
	b.ReportMetric(float64(ws.reqs.Load())/float64(b.N), "requests/op")
}
