package fetcher

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/torrentfs/torrentfs/internal/leakcheck"
)

func TestRateLimiterOffIsFree(t *testing.T) {
	if newRateLimiter(0) != nil || newRateLimiter(-5) != nil {
		t.Fatal("a limit of 0 or less must mean no limiter")
	}
	c := &Client{}
	ctx := context.Background()
	allocs := testing.AllocsPerRun(100, func() {
		if err := c.waitUpload(ctx, 1<<20); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Errorf("unlimited waitUpload allocates %v times", allocs)
	}
}

// The bucket holds a quarter second of the rate; beyond it a caller waits
// for exactly its share, in the order callers came.
func TestRateLimiterReserve(t *testing.T) {
	l := newRateLimiter(1 << 20) // 1 MiB/s: a burst of 256 KiB
	now := l.last
	if d := l.reserve(now, 256<<10); d != 0 {
		t.Fatalf("the burst waits %v, want 0", d)
	}
	if d := l.reserve(now, 512<<10); d != 500*time.Millisecond {
		t.Fatalf("512 KiB past the burst waits %v, want 500ms", d)
	}
	if d := l.reserve(now, 256<<10); d != 750*time.Millisecond {
		t.Fatalf("the next 256 KiB waits %v, want 750ms", d)
	}
	// After a long idle time the bucket holds only the burst again.
	later := now.Add(time.Hour)
	if d := l.reserve(later, 256<<10); d != 0 {
		t.Fatalf("after an hour, the burst waits %v", d)
	}
	if d := l.reserve(later, 1<<20); d != time.Second {
		t.Fatalf("after the burst, 1 MiB waits %v, want 1s", d)
	}
	// A small rate still lets a whole block through.
	if l := newRateLimiter(1000); l.burst < 16<<10 {
		t.Fatalf("burst %v is smaller than a block", l.burst)
	}
}

// Several concurrent callers together get the rate, within 15%.
func TestRateLimiterSharedRate(t *testing.T) {
	defer leakcheck.Check(t)()
	const rate = 4 << 20
	l := newRateLimiter(rate)
	l.reserve(time.Now(), l.burst) // start empty
	start := time.Now()
	var wg sync.WaitGroup
	const callers, calls, n = 4, 32, 64 << 10 // 8 MiB in all: two seconds
	for range callers {
		wg.Go(func() {
			for range calls {
				if err := l.wait(context.Background(), n); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	got := float64(callers*calls*n) / time.Since(start).Seconds()
	t.Logf("%.0f bytes/s with a limit of %d", got, rate)
	if got < 0.85*rate || got > 1.15*rate {
		t.Errorf("%.0f bytes/s, want %d ±15%%", got, rate)
	}
}

// A waiter whose ctx ends returns at once with ctx's error and gives its
// reservation back.
func TestRateLimiterCancel(t *testing.T) {
	defer leakcheck.Check(t)()
	l := newRateLimiter(1 << 10)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- l.wait(ctx, 1<<20) }() // would wait about 17 minutes
	time.Sleep(50 * time.Millisecond)
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("got %v, want context.Canceled", err)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("wait did not end with its ctx")
	}
	if d := l.reserve(time.Now(), 1<<10); d > time.Second {
		t.Fatalf("after the cancelled wait, 1 KiB waits %v: the reservation was not given back", d)
	}
}
