package piececache

import (
	"context"
	"fmt"
	"testing"
)

var benchSizes = []int{256 << 10, 1 << 20, 4 << 20}

// BenchmarkPut writes distinct pieces, from one goroutine and from several
// (GOMAXPROCS*4), with the writer's batching on and off.
func BenchmarkPut(b *testing.B) {
	for _, size := range benchSizes {
		for _, batch := range []int{1, defaultMaxBatch} {
			for _, parallel := range []bool{false, true} {
				name := fmt.Sprintf("%dKiB/batch=%d/parallel=%v", size>>10, batch, parallel)
				b.Run(name, func(b *testing.B) {
					c, _ := openTest(b, Options{maxBatch: batch})
					data := pieceData(1, 0, size)
					ctx := context.Background()
					b.SetBytes(int64(size))
					b.ResetTimer()
					if !parallel {
						for i := 0; b.Loop(); i++ {
							if err := c.Put(ctx, hash(1), i, data); err != nil {
								b.Fatal(err)
							}
						}
						return
					}
					b.SetParallelism(4)
					var next atomicInt
					b.RunParallel(func(pb *testing.PB) {
						for pb.Next() {
							if err := c.Put(ctx, hash(1), next.add(), data); err != nil {
								b.Error(err)
								return
							}
						}
					})
				})
			}
		}
	}
}

// BenchmarkReadAt reads 128 KiB ranges (the kernel's read size) from held
// pieces.
func BenchmarkReadAt(b *testing.B) {
	const pieces, rangeSize = 16, 128 << 10
	for _, size := range benchSizes {
		for _, parallel := range []bool{false, true} {
			b.Run(fmt.Sprintf("%dKiB/parallel=%v", size>>10, parallel), func(b *testing.B) {
				c, _ := openTest(b, Options{})
				ctx := context.Background()
				for p := range pieces {
					if err := c.Put(ctx, hash(1), p, pieceData(1, p, size)); err != nil {
						b.Fatal(err)
					}
				}
				ranges := size / rangeSize
				b.SetBytes(rangeSize)
				b.ResetTimer()
				read := func(i int, buf []byte) {
					p, r := i%pieces, (i/pieces)%ranges
					if n, err := c.ReadAt(ctx, hash(1), p, buf, int64(r*rangeSize)); n != rangeSize || (err != nil && r != ranges-1) {
						b.Fatalf("ReadAt: %d, %v", n, err)
					}
				}
				if !parallel {
					buf := make([]byte, rangeSize)
					for i := 0; b.Loop(); i++ {
						read(i, buf)
					}
					return
				}
				var next atomicInt
				b.RunParallel(func(pb *testing.PB) {
					buf := make([]byte, rangeSize)
					for pb.Next() {
						read(next.add(), buf)
					}
				})
			})
		}
	}
}
