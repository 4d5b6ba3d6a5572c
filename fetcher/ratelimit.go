package fetcher

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/torrentfs/torrentfs/fetcher/peerwire"
)

// waitUpload blocks until n more bytes of blocks may be sent to peers
// under Options.UploadRateLimit, or ctx ends. Without a limit it returns
// at once.
func (c *Client) waitUpload(ctx context.Context, n int) error {
	if c.up == nil {
		return nil
	}
	return c.up.wait(ctx, n)
}

// rateLimiter is a token bucket shared by every peer of a Client. A
// caller reserves its bytes at once, possibly taking the bucket below
// zero, and then sleeps until the bucket has refilled past its
// reservation; callers are thus served in the order they came, and one
// batch larger than the burst still passes.
type rateLimiter struct {
	rate  float64 // bytes per second
	burst float64 // the most the bucket holds: about a quarter second

	mu     sync.Mutex // guards tokens and last
	tokens float64
	last   time.Time
}

// newRateLimiter returns a limiter of rate bytes per second, or nil (no
// limit) if rate <= 0.
func newRateLimiter(rate int64) *rateLimiter {
	if rate <= 0 {
		return nil
	}
	burst := max(float64(rate)/4, peerwire.BlockSize)
	return &rateLimiter{rate: float64(rate), burst: burst, tokens: burst, last: time.Now()}
}

// reserve takes n bytes from the bucket at now and returns how long the
// caller must wait before sending them.
func (l *rateLimiter) reserve(now time.Time, n float64) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	if now.After(l.last) {
		l.tokens = min(l.burst, l.tokens+now.Sub(l.last).Seconds()*l.rate)
		l.last = now
	}
	l.tokens -= n
	if l.tokens >= 0 {
		return 0
	}
	return time.Duration(-l.tokens / l.rate * float64(time.Second))
}

// refund returns n bytes reserved but never sent.
func (l *rateLimiter) refund(n float64) {
	l.mu.Lock()
	l.tokens = min(l.burst, l.tokens+n)
	l.mu.Unlock()
}

// wait blocks until n bytes may be sent, or ctx ends; then the bytes are
// given back to the bucket.
func (l *rateLimiter) wait(ctx context.Context, n int) error {
	d := l.reserve(time.Now(), float64(n))
	if d <= 0 {
		return nil
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
		return nil
	case <-ctx.Done():
		l.refund(float64(n))
		return fmt.Errorf("fetcher: waiting to upload %d bytes: %w", n, ctx.Err())
	}
}
