package fs

import (
	"context"
	"sync"
)

// registry tracks what must be stopped at shutdown: reads in flight (their
// cancel functions) and open file handles (their readers).
type registry struct {
	mu      sync.Mutex // guards closed, next, cancels, handles; wg.Add happens under it
	closed  bool
	next    uint64
	cancels map[uint64]context.CancelCauseFunc
	handles map[*handle]struct{}
	wg      sync.WaitGroup // reads in flight
}

func newRegistry() *registry {
	return &registry{
		cancels: map[uint64]context.CancelCauseFunc{},
		handles: map[*handle]struct{}{},
	}
}

// startRead registers a read; it returns false once shutdown has begun.
// The caller must call endRead(id) when the read is over.
func (r *registry) startRead(cancel context.CancelCauseFunc) (id uint64, ok bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return 0, false
	}
	r.next++
	r.cancels[r.next] = cancel
	r.wg.Add(1)
	return r.next, true
}

func (r *registry) endRead(id uint64) {
	r.mu.Lock()
	delete(r.cancels, id)
	r.mu.Unlock()
	r.wg.Done()
}

// addHandle registers an open handle; it returns false once shutdown has
// begun (the caller then closes the reader itself).
func (r *registry) addHandle(h *handle) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return false
	}
	r.handles[h] = struct{}{}
	return true
}

func (r *registry) removeHandle(h *handle) {
	r.mu.Lock()
	delete(r.handles, h)
	r.mu.Unlock()
}

// failReads makes every later read fail and cancels every read in flight
// with ErrUnmounted. It does not wait.
func (r *registry) failReads() {
	r.mu.Lock()
	r.closed = true
	cancels := r.cancels
	r.cancels = map[uint64]context.CancelCauseFunc{}
	r.mu.Unlock()
	for _, cancel := range cancels {
		cancel(ErrUnmounted)
	}
}

// shutdown fails all reads, waits for them to return, and then closes every
// handle still open. It returns how many handles it closed.
func (r *registry) shutdown() int {
	r.failReads()
	r.wg.Wait() // reads return promptly: their contexts are cancelled
	r.mu.Lock()
	handles := r.handles
	r.handles = map[*handle]struct{}{}
	r.mu.Unlock()
	for h := range handles {
		h.close()
	}
	return len(handles)
}

func (r *registry) isClosed() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.closed
}
