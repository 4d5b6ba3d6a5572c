package fetcher_test

import (
	"context"
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
		if _, err := readAll(context.Background(), r, 128<<10); err != nil {
			b.Fatal(err)
		}
		r.Close()
		leech.Close()
	}
}
