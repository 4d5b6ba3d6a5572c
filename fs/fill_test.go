package fs

import (
	"context"
	"errors"
	"fmt"
	"io"
	"syscall"
	"testing"

	"github.com/torrentfs/torrentfs/internal/testbytes"
)

// scriptReader answers ReadAt from a deterministic stream of size bytes,
// at most chunk bytes at a time, with err after the data (or instead of
// it when chunk is 0).
type scriptReader struct {
	size  int64
	chunk int
	err   error
	calls int
}

func (r *scriptReader) ReadAt(ctx context.Context, p []byte, off int64) (int, error) {
	r.calls++
	if r.chunk == 0 {
		return 0, r.err
	}
	if len(p) > r.chunk {
		p = p[:r.chunk]
	}
	n, err := testbytes.Reader(7, r.size).ReadAt(p, off)
	if err == nil && r.err != nil {
		err = r.err
	}
	return n, err
}

func (r *scriptReader) Close() error { return nil }

func TestFill(t *testing.T) {
	ctx := context.Background()
	boom := errors.New("boom")
	cases := []struct {
		name    string
		r       *scriptReader
		off     int64
		n       int
		wantErr error // nil: success with the right bytes
	}{
		{"whole", &scriptReader{size: 10000, chunk: 1 << 20}, 0, 10000, nil},
		{"short reads", &scriptReader{size: 10000, chunk: 999}, 17, 9983, nil},
		{"EOF exactly at the end", &scriptReader{size: 4096, chunk: 4096}, 0, 4096, nil},
		{"EOF too early", &scriptReader{size: 100, chunk: 64}, 0, 200, io.ErrUnexpectedEOF},
		{"error", &scriptReader{chunk: 0, err: boom}, 0, 10, boom},
		{"error with data", &scriptReader{size: 100, chunk: 10, err: boom}, 0, 100, boom},
		{"no progress", &scriptReader{chunk: 0}, 0, 10, io.ErrNoProgress},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := make([]byte, tc.n)
			_, err := fill(ctx, tc.r, p, tc.off)
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("fill: %v, want %v", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("fill: %v", err)
			}
			if want := testbytes.Bytes(7, int(tc.off)+tc.n)[tc.off:]; string(p) != string(want) {
				t.Fatal("fill: wrong bytes")
			}
		})
	}
}

type badCount struct{}

func (badCount) ReadAt(context.Context, []byte, int64) (int, error) { return 1 << 30, nil }
func (badCount) Close() error                                       { return nil }

func TestFillRejectsImpossibleCount(t *testing.T) {
	if _, err := fill(context.Background(), badCount{}, make([]byte, 10), 0); err == nil {
		t.Fatal("fill accepted a count larger than the buffer")
	}
}

func TestToErrno(t *testing.T) {
	cancelled, cancel := context.WithCancelCause(context.Background())
	cancel(ErrUnmounted)
	cases := []struct {
		name  string
		err   error
		cause error
		want  syscall.Errno
	}{
		{"plain error", errors.New("x"), nil, syscall.EIO},
		{"interrupted", fmt.Errorf("wait: %w", context.Canceled), context.Canceled, syscall.EINTR},
		{"deadline", context.DeadlineExceeded, nil, syscall.EINTR},
		{"shutdown cause", context.Canceled, context.Cause(cancelled), syscall.EIO},
		{"shutdown error", ErrUnmounted, nil, syscall.EIO},
		{"chosen errno", fmt.Errorf("a: %w", errnoError{syscall.ENOSPC}), nil, syscall.ENOSPC},
		{"chosen zero falls back", errnoError{0}, nil, syscall.EIO},
		{"raw errno is not passed through", syscall.EAGAIN, nil, syscall.EIO},
	}
	for _, tc := range cases {
		if got := toErrno(tc.err, tc.cause); got != tc.want {
			t.Errorf("%s: toErrno = %v, want %v", tc.name, got, tc.want)
		}
	}
}
