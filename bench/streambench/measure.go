package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"os"
	"time"
)

// readAt opens path and reads n bytes at off, returning how long the open
// and the read took together.
func readAt(path string, src io.ReaderAt, off int64, n int) (time.Duration, error) {
	start := time.Now()
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	buf := make([]byte, n)
	if _, err := f.ReadAt(buf, off); err != nil {
		return 0, fmt.Errorf("read %d bytes at %d: %w", n, off, err)
	}
	d := time.Since(start)
	// Check the bytes too: a fast wrong answer is no answer.
	want := make([]byte, n)
	if _, err := src.ReadAt(want, off); err != nil {
		return 0, err
	}
	if !bytes.Equal(buf, want) {
		return 0, fmt.Errorf("wrong bytes at offset %d", off)
	}
	return d, nil
}

// seqRead reads path from start to end in chunk-sized reads, checks its
// SHA-256 and size, and returns the time from open to the last byte.
//
// By default (hashDuring false) the bytes go into one buffer of the file's
// size, touched before the clock starts, and are hashed after it stops:
// the figure is the filesystem's, not the checker's, which on a 2-vCPU
// machine would otherwise take a sixth of the CPU from the filesystem and
// its swarm. With hashDuring the SHA-256 is computed on another goroutine
// while the next chunks are read (up to 8 chunks behind), and the time
// runs until the last byte is hashed.
func seqRead(ctx context.Context, path string, chunk int, size int64, sum [32]byte, hashDuring bool) (time.Duration, error) {
	if hashDuring {
		return seqReadHashing(ctx, path, chunk, size, sum)
	}
	buf := make([]byte, size+int64(chunk)) // room to see a file longer than size
	for i := 0; i < len(buf); i += 4096 {
		buf[i] = 1 // fault the pages in now, not while timing
	}
	start := time.Now()
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	var total int64
	var rerr error
	for {
		if err := ctx.Err(); err != nil {
			rerr = err
			break
		}
		n, err := io.ReadFull(f, buf[total:min(total+int64(chunk), int64(len(buf)))])
		total += int64(n)
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || total == int64(len(buf)) {
			break
		}
		if err != nil {
			rerr = fmt.Errorf("read at %d: %w", total, err)
			break
		}
	}
	d := time.Since(start)
	if rerr != nil {
		return 0, rerr
	}
	if total != size {
		return 0, fmt.Errorf("read %d bytes, want %d", total, size)
	}
	if got := sha256.Sum256(buf[:total]); got != sum {
		return 0, fmt.Errorf("SHA-256 of the %d bytes read differs from the source's", total)
	}
	return d, nil
}

// seqReadHashing is seqRead with the SHA-256 computed while reading.
func seqReadHashing(ctx context.Context, path string, chunk int, size int64, sum [32]byte) (time.Duration, error) {
	start := time.Now()
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	const depth = 8
	free := make(chan []byte, depth)
	full := make(chan []byte, depth)
	for range depth {
		free <- make([]byte, chunk)
	}
	sumc := make(chan []byte, 1)
	go func() {
		h := sha256.New()
		for b := range full {
			h.Write(b)
			free <- b[:cap(b)]
		}
		sumc <- h.Sum(nil)
	}()
	var total int64
	var rerr error
	for {
		if err := ctx.Err(); err != nil {
			rerr = err
			break
		}
		buf := <-free
		n, err := io.ReadFull(f, buf)
		full <- buf[:n]
		total += int64(n)
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			break
		}
		if err != nil {
			rerr = fmt.Errorf("read at %d: %w", total, err)
			break
		}
	}
	close(full)
	got := <-sumc
	d := time.Since(start)
	if rerr != nil {
		return 0, rerr
	}
	if total != size {
		return 0, fmt.Errorf("read %d bytes, want %d", total, size)
	}
	if !bytes.Equal(got, sum[:]) {
		return 0, fmt.Errorf("SHA-256 of the %d bytes read differs from the source's", total)
	}
	return d, nil
}

// playerResult is what a paced reader saw.
type playerResult struct {
	TTFB     time.Duration // open to the end of the first read
	Stalls   int           // reads slower than the stall threshold after the first second
	StallFor time.Duration // their total duration
	MaxRead  time.Duration // the slowest read after the first second
	Played   time.Duration // how long it played
	Bytes    int64
}

type playerOptions struct {
	rate  int64         // bytes per second
	chunk int           // bytes per read
	stall time.Duration // a read slower than this is a stall
	cap   time.Duration // stop after this much playback
}

// play reads path sequentially at opts.rate, the way a video player
// would: each chunk is due at its place in the timeline; a read that takes
// longer than opts.stall after the first second of playback is a stall.
// After a stall the player catches up without sleeping (it refills its
// buffer). The bytes are checked against the source.
func play(ctx context.Context, path string, src io.ReaderAt, size int64, opts playerOptions) (playerResult, error) {
	var r playerResult
	start := time.Now()
	f, err := os.Open(path)
	if err != nil {
		return r, err
	}
	defer f.Close()
	buf := make([]byte, opts.chunk)
	want := make([]byte, opts.chunk)
	interval := time.Duration(float64(opts.chunk) / float64(opts.rate) * float64(time.Second))
	var off int64
	var playStart time.Time // when the first chunk arrived
	for i := 0; off < size; i++ {
		if !playStart.IsZero() {
			if time.Since(playStart) >= opts.cap {
				break
			}
			due := playStart.Add(time.Duration(i) * interval)
			if d := time.Until(due); d > 0 {
				if err := sleepCtx(ctx, d); err != nil {
					return r, err
				}
			}
		}
		if ctx.Err() != nil {
			return r, ctx.Err()
		}
		t := time.Now()
		n, err := f.ReadAt(buf, off)
		took := time.Since(t)
		if err != nil && !(errors.Is(err, io.EOF) && off+int64(n) == size) {
			return r, fmt.Errorf("read at %d: %w", off, err)
		}
		src.ReadAt(want[:n], off)
		if !bytes.Equal(buf[:n], want[:n]) {
			return r, fmt.Errorf("wrong bytes in the read at %d", off)
		}
		if playStart.IsZero() {
			playStart = time.Now()
			r.TTFB = playStart.Sub(start)
		} else if time.Since(playStart) > time.Second {
			if took > opts.stall {
				r.Stalls++
				r.StallFor += took
			}
			r.MaxRead = max(r.MaxRead, took)
		}
		off += int64(n)
		r.Bytes = off
	}
	r.Played = time.Since(playStart)
	return r, nil
}
