package fetcher

import "context"

// Storage holds verified pieces. piececache.Cache and piececache.Memory
// implement it. Put is called only with data whose SHA-1 matched.
type Storage interface {
	Put(ctx context.Context, ih [20]byte, piece int, data []byte) error
	// ReadAt reads from a stored piece. Any error, including "not found",
	// makes the fetcher check Has and fetch the piece again if it is gone.
	ReadAt(ctx context.Context, ih [20]byte, piece int, p []byte, off int64) (int, error)
	// Has must be cheap: no disk I/O.
	Has(ih [20]byte, piece int) bool
	Pieces(ctx context.Context, ih [20]byte) ([]int, error)
}
