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
	var sink readSink
	if hashDuring {
		sink = newHashingSink(chunk)
	} else {
		sink = newMemorySink(size+int64(chunk), chunk) // room to see a file longer than size
	}
	start := time.Now()
	f, err := os.Open(path)
	if err != nil {
		sink.finish()
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
		buf := sink.next()
		if len(buf) == 0 {
			break
		}
		n, err := io.ReadFull(f, buf)
		sink.filled(buf[:n])
		total += int64(n)
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			break
		}
		if err != nil {
			rerr = fmt.Errorf("read at %d: %w", total, err)
			break
		}
	}
	sink.finish()
	d := time.Since(start)
	if rerr != nil {
		return 0, rerr
	}
	if total != size {
		return 0, fmt.Errorf("read %d bytes, want %d", total, size)
	}
	if sink.sum() != sum {
		return 0, fmt.Errorf("SHA-256 of the %d bytes read differs from the source's", total)
	}
	return d, nil
}

// readSink is where seqRead's bytes go. next gives the buffer for the next
// read (empty: no room left), filled takes what a read put in it, finish
// ends the reading (inside the timed span), and sum is the SHA-256 of
// every byte filled (after it).
type readSink interface {
	next() []byte
	filled(b []byte)
	finish()
	sum() [32]byte
}

// memorySink keeps every byte in one buffer, hashed only by sum.
type memorySink struct {
	buf   []byte
	n     int // bytes filled
	chunk int
}

func newMemorySink(size int64, chunk int) *memorySink {
	buf := make([]byte, size)
	for i := 0; i < len(buf); i += 4096 {
		buf[i] = 1 // fault the pages in now, not while timing
	}
	return &memorySink{buf: buf, chunk: chunk}
}

func (m *memorySink) next() []byte    { return m.buf[m.n:min(m.n+m.chunk, len(m.buf))] }
func (m *memorySink) filled(b []byte) { m.n += len(b) }
func (m *memorySink) finish()         {}
func (m *memorySink) sum() [32]byte   { return sha256.Sum256(m.buf[:m.n]) }

// hashingSink hashes on its own goroutine, up to hashDepth chunks behind
// the reads; finish waits for it.
type hashingSink struct {
	free, full chan []byte
	sumc       chan [32]byte
	got        [32]byte
}

const hashDepth = 8

func newHashingSink(chunk int) *hashingSink {
	h := &hashingSink{free: make(chan []byte, hashDepth), full: make(chan []byte, hashDepth), sumc: make(chan [32]byte, 1)}
	for range hashDepth {
		h.free <- make([]byte, chunk)
	}
	go func() {
		sha := sha256.New()
		for b := range h.full {
			sha.Write(b)
			h.free <- b[:cap(b)]
		}
		h.sumc <- [32]byte(sha.Sum(nil))
	}()
	return h
}

func (h *hashingSink) next() []byte    { return <-h.free }
func (h *hashingSink) filled(b []byte) { h.full <- b }
func (h *hashingSink) finish()         { close(h.full); h.got = <-h.sumc }
func (h *hashingSink) sum() [32]byte   { return h.got }

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
