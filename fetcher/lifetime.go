package fetcher

import (
	"context"
	"time"
)

// lifetime is a context.Context view of a done channel. Owners keep the
// channel, not a context, and hand this view to the goroutines they start so
// that every wait can select on ctx.Done().
type lifetime struct{ done <-chan struct{} }

var _ context.Context = lifetime{}

func (l lifetime) Deadline() (time.Time, bool) { return time.Time{}, false }
func (l lifetime) Done() <-chan struct{}       { return l.done }
func (l lifetime) Value(any) any               { return nil }
func (l lifetime) Err() error {
	select {
	case <-l.done:
		return context.Canceled
	default:
		return nil
	}
}
