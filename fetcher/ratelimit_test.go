package fetcher

import (
	"sync"
	"testing"
	"time"

	"github.com/torrentfs/torrentfs/fetcher/peerwire"
	"github.com/torrentfs/torrentfs/internal/leakcheck"
)

func blocks(n int) []peerwire.Message {
	ups := make([]peerwire.Message, n)
	for i := range ups {
		ups[i] = peerwire.Message{ID: peerwire.Request, Index: uint32(i), Length: peerwire.BlockSize}
	}
	return ups
}

func TestRateLimiterOffIsFree(t *testing.T) {
	if newRateLimiter(0) != nil || newRateLimiter(-5) != nil {
		t.Fatal("a limit of 0 or less must mean no limiter")
	}
	c := &Client{}
	ups := blocks(16)
	allocs := testing.AllocsPerRun(100, func() {
		if n, wait := c.grantUpload(ups); n != 16 || wait != 0 {
			t.Fatalf("unlimited: granted %d of 16, wait %v", n, wait)
		}
	})
	if allocs != 0 {
		t.Errorf("unlimited grantUpload allocates %v times", allocs)
	}
}

// The bucket holds a quarter second of the rate; past it, blocks are
// granted as the bucket refills, never more than one block ahead.
func TestRateLimiterGrant(t *testing.T) {
	const rate = 1 << 20 // 1 MiB/s: a burst of 256 KiB, 16 blocks
	l := newRateLimiter(rate)
	now := l.last
	if n, wait := l.grant(now, blocks(16)); n != 16 || wait != 0 {
		t.Fatalf("the burst: granted %d of 16, wait %v", n, wait)
	}
	n, wait := l.grant(now, blocks(4))
	if n != 0 || wait != minPace {
		t.Fatalf("empty bucket: granted %d, wait %v; want 0 and %v", n, wait, minPace)
	}
	// 10 ms later a little more than half a block is back: one block goes.
	now = now.Add(10 * time.Millisecond)
	n, wait = l.grant(now, blocks(4))
	if n != 1 {
		t.Fatalf("after 10ms granted %d blocks, want 1", n)
	}
	debt := float64(peerwire.BlockSize) - 0.01*rate
	wantWait := time.Duration(debt/rate*float64(time.Second)) + minPace
	if d := wait - wantWait; d < -time.Microsecond || d > time.Microsecond {
		t.Fatalf("after one block in debt, wait %v, want %v", wait, wantWait)
	}
	// After a long idle time the bucket holds only the burst again.
	now = now.Add(time.Hour)
	if n, _ := l.grant(now, blocks(100)); n != 16 {
		t.Fatalf("after an hour granted %d blocks, want the 16 of the burst", n)
	}
	// A tiny rate still lets a whole block through.
	if l := newRateLimiter(1000); l.burst < peerwire.BlockSize {
		t.Fatalf("burst %v is smaller than a block", l.burst)
	}
}

// Several peers together get the rate, within 15%.
func TestRateLimiterSharedRate(t *testing.T) {
	defer leakcheck.Check(t)()
	const rate = 4 << 20
	l := newRateLimiter(rate)
	l.grant(time.Now(), blocks(1000)) // start empty
	start := time.Now()
	var mu sync.Mutex
	var sent int64
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			ups := blocks(16)
			for time.Since(start) < 2*time.Second {
				n, wait := l.grant(time.Now(), ups)
				mu.Lock()
				sent += int64(n) * peerwire.BlockSize
				mu.Unlock()
				time.Sleep(wait)
			}
		})
	}
	wg.Wait()
	got := float64(sent) / time.Since(start).Seconds()
	t.Logf("%.0f bytes/s with a limit of %d", got, rate)
	if got < 0.85*rate || got > 1.15*rate {
		t.Errorf("%.0f bytes/s, want %d ±15%%", got, rate)
	}
}
