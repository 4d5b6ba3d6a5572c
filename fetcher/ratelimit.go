package fetcher

import (
	"sync"
	"time"

	"github.com/torrentfs/torrentfs/fetcher/peerwire"
)

// grantUpload says how many of ups, a peer's queued requests in order,
// may be served now under Options.UploadRateLimit, and if not all of
// them, how long until more may. Without a limit it grants them all. It
// never blocks, so that a peer's write loop keeps sending control
// messages while its blocks wait for bandwidth. Called with the peer's
// outMu held; the limiter's own mutex is taken after it.
func (c *Client) grantUpload(ups []peerwire.Message) (n int, wait time.Duration) {
	if c.up == nil || len(ups) == 0 {
		return len(ups), 0
	}
	return c.up.grant(time.Now(), ups)
}

// rateLimiter is a token bucket shared by every peer of a Client. It
// grants whole blocks while the bucket holds tokens, so it may go below
// zero by at most one block; over time exactly the rate passes. The bucket
// holds at most burst: about a quarter second of the rate.
type rateLimiter struct {
	rate  float64 // bytes per second
	burst float64

	mu     sync.Mutex // guards tokens and last; taken after a peer's outMu
	tokens float64
	last   time.Time
}

// minPace is added to every wait grant asks for, so that the bucket
// holds tokens when the write loop comes back and the loop never spins.
const minPace = time.Millisecond

// newRateLimiter returns a limiter of rate bytes per second, or nil (no
// limit) if rate <= 0.
func newRateLimiter(rate int64) *rateLimiter {
	if rate <= 0 {
		return nil
	}
	burst := max(float64(rate)/4, peerwire.BlockSize)
	return &rateLimiter{rate: float64(rate), burst: burst, tokens: burst, last: time.Now()}
}

// grant takes tokens for as many of ups, in order, as the bucket allows at
// now, and returns that count and, if it is short, how long until the
// bucket holds tokens again.
func (l *rateLimiter) grant(now time.Time, ups []peerwire.Message) (int, time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if now.After(l.last) {
		l.tokens = min(l.burst, l.tokens+now.Sub(l.last).Seconds()*l.rate)
		l.last = now
	}
	n := 0
	for n < len(ups) && l.tokens > 0 {
		l.tokens -= float64(ups[n].Length)
		n++
	}
	if n == len(ups) {
		return n, 0
	}
	return n, time.Duration(-l.tokens/l.rate*float64(time.Second)) + minPace
}
