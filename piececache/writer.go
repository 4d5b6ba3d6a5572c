package piececache

import (
	"context"
	"errors"
	"fmt"

	"github.com/dgraph-io/badger/v4"
)

// Every write to Badger happens on the writer goroutine, started by Open
// and stopped by Close. That serialises index updates with the writes they
// describe, and lets eviction's DropPrefix run without racing other writes
// (DropPrefix fails concurrent writes with ErrBlockedWrites).

const (
	// defaultMaxBatch and maxBatchBytes bound how many queued Puts one
	// Badger transaction commits.
	defaultMaxBatch = 64
	maxBatchBytes   = 64 << 20
)

type op int

const (
	opPut    op = iota
	opForget    // delete id if its stored version is still version
)

// request is one write for the writer. done receives exactly one result.
type request struct {
	op      op
	id      pieceID
	value   []byte // opPut: the encoded value, owned by the request
	version uint64 // opForget
	done    chan error
}

// Put stores data as piece of the torrent ih, replacing any earlier copy.
// data must already be verified; Put copies it. When Put returns nil a
// ReadAt of the piece sees the new bytes.
//
// Put may be called from several goroutines at once; concurrent calls are
// committed together. If ctx ends first, Put returns its error and the
// piece may or may not be stored (Has tells).
func (c *Cache) Put(ctx context.Context, ih [20]byte, piece int, data []byte) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("piececache: put piece %d: %w", piece, err)
	}
	if err := validatePut(piece, data); err != nil {
		return err
	}
	if err := c.begin(); err != nil {
		return err
	}
	defer c.ops.Done()
	// Encoding copies data, so the caller may reuse it even if ctx ends
	// while the request is queued; the CRCs are computed here, in parallel
	// with other callers, not on the writer.
	r := &request{op: opPut, id: pieceID{ih, uint32(piece)}, value: encodeValue(data)}
	if err := c.submit(ctx, r); err != nil {
		return fmt.Errorf("piececache: put piece %d of %x: %w", piece, ih, err)
	}
	return nil
}

// submit hands r to the writer and waits for its result. The caller must
// hold an op (c.begin), which keeps the writer running.
func (c *Cache) submit(ctx context.Context, r *request) error {
	r.done = make(chan error, 1)
	select {
	case c.reqs <- r:
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case err := <-r.done:
		return err
	case <-ctx.Done():
		return ctx.Err() // the write still completes, or fails, on its own
	}
}

// writeLoop is the writer goroutine.
func (c *Cache) writeLoop() {
	defer close(c.writerDone)
	maxBatch := c.opts.maxBatch
	if maxBatch <= 0 {
		maxBatch = defaultMaxBatch
	}
	c.maybeEvict() // in case MaxBytes shrank since the last run
	var batch []*request
	for {
		select {
		case r := <-c.reqs:
			batch = append(batch[:0], r)
			size := len(r.value)
		more:
			for len(batch) < maxBatch && size < maxBatchBytes {
				select {
				case r := <-c.reqs:
					batch = append(batch, r)
					size += len(r.value)
				default:
					break more
				}
			}
			c.apply(batch)
			clear(batch)
			c.maybeEvict()
		case <-c.quit:
			return
		}
	}
}

// apply performs a batch of requests and answers each.
func (c *Cache) apply(batch []*request) {
	var puts []*request
	for _, r := range batch {
		switch r.op {
		case opPut:
			puts = append(puts, r)
		case opForget:
			r.done <- c.forget(r.id, r.version)
		}
	}
	if len(puts) > 0 {
		c.putAll(puts)
	}
}

// putAll commits puts in as few transactions as Badger allows, then records
// them in the index and answers them.
func (c *Cache) putAll(puts []*request) {
	txn := c.db.NewTransaction(true)
	start := 0
	for i := 0; i < len(puts); i++ {
		r := puts[i]
		err := txn.SetEntry(badger.NewEntry(pieceKey(r.id.ih, r.id.piece), r.value))
		if errors.Is(err, badger.ErrTxnTooBig) && i > start {
			c.finish(puts[start:i], txn.Commit())
			txn = c.db.NewTransaction(true)
			start = i
			i--
			continue
		}
		if err != nil {
			r.done <- err
			puts[i] = nil
		}
	}
	c.finish(puts[start:], txn.Commit())
}

// finish records committed puts in the index and answers them.
func (c *Cache) finish(puts []*request, commitErr error) {
	if commitErr != nil {
		for _, r := range puts {
			if r != nil {
				r.done <- commitErr
			}
		}
		return
	}
	sizes := make([]int64, len(puts))
	err := c.db.View(func(txn *badger.Txn) error {
		for i, r := range puts {
			if r == nil {
				continue
			}
			item, err := txn.Get(pieceKey(r.id.ih, r.id.piece))
			if err != nil {
				return err
			}
			// The same measure loadIndex uses at Open.
			sizes[i] = item.EstimatedSize()
		}
		return nil
	})
	if err != nil { // cannot happen short of a broken database
		for i, r := range puts {
			if r != nil && sizes[i] == 0 {
				sizes[i] = int64(keyLen + len(r.value))
			}
		}
	}
	var replaced int64
	c.mu.Lock()
	for i, r := range puts {
		if r != nil {
			replaced += c.idx.add(r.id, sizes[i])
		}
	}
	c.mu.Unlock()
	c.garbage += replaced // overwritten values are dead in the value log
	for _, r := range puts {
		if r != nil {
			r.done <- nil
		}
	}
}

// forget deletes id if Badger still holds the version a reader found
// corrupt (a newer Put may have replaced it since).
func (c *Cache) forget(id pieceID, version uint64) error {
	key := pieceKey(id.ih, id.piece)
	gone := false
	err := c.db.Update(func(txn *badger.Txn) error {
		item, err := txn.Get(key)
		if errors.Is(err, badger.ErrKeyNotFound) {
			gone = true
			return nil
		}
		if err != nil {
			return err
		}
		if item.Version() != version {
			return nil
		}
		gone = true
		return txn.Delete(key)
	})
	if err != nil {
		return fmt.Errorf("piececache: delete piece %d of %x: %w", id.piece, id.ih, err)
	}
	if gone {
		c.mu.Lock()
		c.garbage += c.idx.remove(id)
		c.mu.Unlock()
	}
	return nil
}
