package piececache

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"time"

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
	opPut           op = iota
	opForget           // delete id if its stored version is still version (or any version if anyVersion)
	opDeleteTorrent    // delete every piece of id.ih, its info, and give the space back
	opPutInfo          // store value under key
)

// request is one write for the writer. done receives exactly one result.
type request struct {
	op         op
	id         pieceID
	key        []byte    // opPutInfo
	value      []byte    // opPut: the encoded value, owned by the request; opPutInfo: the value
	buf        *valueBuf // opPut: value's pooled buffer
	vlen       int       // opPut: len(value)
	version    uint64    // opForget
	anyVersion bool      // opForget
	done       chan error
}

// Put stores data as piece of the torrent ih, replacing any earlier copy.
// data must already be verified; Put copies it. When Put returns nil a
// ReadAt of the piece sees the new bytes.
//
// Put may be called from several goroutines at once; concurrent calls are
// committed together. If ctx ends first, Put returns its error and the
// piece may or may not be stored (Has tells). If the disk is full Put
// returns an error wrapping ErrDiskFull, for other write failures one
// wrapping ErrWriteFailed; after such a failure Puts fail fast for a while
// (see disk.go) while reads of stored pieces go on.
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
	if err := c.recentFailure(); err != nil {
		return fmt.Errorf("piececache: put piece %d of %x: %w", piece, ih, err)
	}
	// Encoding copies data, so the caller may reuse it even if ctx ends
	// while the request is queued; the CRCs are computed here, in parallel
	// with other callers, not on the writer.
	buf := c.encode(data)
	r := &request{op: opPut, id: pieceID{ih, uint32(piece)}, value: buf.b, buf: buf, vlen: len(buf.b)}
	if err := c.submit(ctx, r); err != nil {
		return fmt.Errorf("piececache: put piece %d of %x: %w", piece, ih, err)
	}
	return nil
}

// DeletePiece forgets one piece. Its disk space comes back with the next
// reclamation, like an evicted piece's. Deleting a piece not held is not an
// error.
func (c *Cache) DeletePiece(ctx context.Context, ih [20]byte, piece int) error {
	if !validPiece(piece) {
		return nil
	}
	if err := c.begin(); err != nil {
		return err
	}
	defer c.ops.Done()
	if err := c.submit(ctx, &request{op: opForget, id: pieceID{ih, uint32(piece)}, anyVersion: true}); err != nil {
		return fmt.Errorf("piececache: delete piece %d of %x: %w", piece, ih, err)
	}
	return nil
}

// DeleteTorrent forgets every piece of ih and its stored info, and gives
// their disk space back before it returns.
func (c *Cache) DeleteTorrent(ctx context.Context, ih [20]byte) error {
	if err := c.begin(); err != nil {
		return err
	}
	defer c.ops.Done()
	if err := c.submit(ctx, &request{op: opDeleteTorrent, id: pieceID{ih: ih}}); err != nil {
		return fmt.Errorf("piececache: delete torrent %x: %w", ih, err)
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
		r.buf.release()
		return ctx.Err()
	}
	select {
	case err := <-r.done:
		return err
	case <-ctx.Done():
		return ctx.Err() // the write still completes, or fails, on its own
	}
}

// stampFlushInterval is how often the writer persists use stamps.
const stampFlushInterval = 10 * time.Second

// writeLoop is the writer goroutine.
func (c *Cache) writeLoop() {
	defer close(c.writerDone)
	maxBatch := c.opts.maxBatch
	if maxBatch <= 0 {
		maxBatch = defaultMaxBatch
	}
	if c.opts.MaxBytes > 0 {
		c.measureOverhead()
	}
	c.maybeEvict() // in case MaxBytes shrank since the last run
	tick := time.NewTicker(stampFlushInterval)
	defer tick.Stop()
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
			c.trimIfDue()
		case <-c.trimWake:
			c.trimIfDue()
		case <-tick.C:
			c.flushStamps()
		case <-c.quit:
			c.flushStamps()
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
			r.done <- c.forget(r.id, r.version, r.anyVersion)
		case opDeleteTorrent:
			r.done <- c.deleteTorrent(r.id.ih)
		case opPutInfo:
			r.done <- c.noteWrite(c.db.Update(func(txn *badger.Txn) error { return txn.Set(r.key, r.value) }))
		}
	}
	if len(puts) > 0 {
		c.putAll(puts)
	}
}

// putAll commits puts, with their use stamps, in as few transactions as
// Badger allows, then records them in the index and answers them.
func (c *Cache) putAll(puts []*request) {
	var n int64
	for _, r := range puts {
		n += int64(len(r.value))
	}
	if err := c.checkSpace(n); err != nil {
		c.finish(puts, err, 0)
		return
	}
	var stamp [4]byte
	binary.BigEndian.PutUint32(stamp[:], uint32(c.now().Unix()))
	txn := c.db.NewTransaction(true)
	start := 0
	for i := 0; i < len(puts); i++ {
		r := puts[i]
		err := txn.SetEntry(badger.NewEntry(pieceKey(r.id.ih, r.id.piece), r.value))
		if err == nil {
			err = txn.Set(stampKey(r.id.ih, r.id.piece), stamp[:])
		}
		if errors.Is(err, badger.ErrTxnTooBig) && i > start {
			txn.Discard()
			txn = c.db.NewTransaction(true)
			for _, r := range puts[start:i] { // redo the fitting ones without r
				if r != nil {
					txn.SetEntry(badger.NewEntry(pieceKey(r.id.ih, r.id.piece), r.value))
					txn.Set(stampKey(r.id.ih, r.id.piece), stamp[:])
				}
			}
			c.finish(puts[start:i], txn.Commit(), binary.BigEndian.Uint32(stamp[:]))
			txn = c.db.NewTransaction(true)
			start = i
			i--
			continue
		}
		if err != nil {
			r.buf.release()
			r.done <- err
			puts[i] = nil
		}
	}
	c.finish(puts[start:], txn.Commit(), binary.BigEndian.Uint32(stamp[:]))
}

// finish records committed puts in the index and answers them. The value
// buffers go back to their pool: Badger has copied them by now.
func (c *Cache) finish(puts []*request, commitErr error, stamp uint32) {
	for _, r := range puts {
		if r != nil {
			r.buf.release()
			r.value = nil
		}
	}
	if commitErr != nil {
		commitErr = c.noteWrite(commitErr)
		for _, r := range puts {
			if r != nil {
				r.done <- commitErr
			}
		}
		return
	}
	c.noteWrite(nil)
	for _, r := range puts {
		if r != nil {
			c.touched.Add(int64(r.vlen))
		}
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
				sizes[i] = int64(keyLen + r.vlen)
			}
		}
	}
	var replaced int64
	c.mu.Lock()
	for i, r := range puts {
		if r != nil {
			replaced += c.idx.add(r.id, sizes[i])
			c.idx.setStamp(r.id, stamp)
			delete(c.dirty, r.id)
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
// corrupt (a newer Put may have replaced it since), or any version.
func (c *Cache) forget(id pieceID, version uint64, anyVersion bool) error {
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
		if !anyVersion && item.Version() != version {
			return nil
		}
		gone = true
		if err := txn.Delete(key); err != nil {
			return err
		}
		return txn.Delete(stampKey(id.ih, id.piece))
	})
	if err != nil {
		return fmt.Errorf("piececache: delete piece %d of %x: %w", id.piece, id.ih, c.noteWrite(err))
	}
	if gone {
		c.mu.Lock()
		c.garbage += c.idx.remove(id)
		c.mu.Unlock()
	}
	return nil
}

// deleteTorrent forgets every piece of ih and its info, then reclaims.
func (c *Cache) deleteTorrent(ih [20]byte) error {
	c.mu.Lock()
	var ids []pieceID
	var freed int64
	for _, p := range c.idx.list(ih) {
		id := pieceID{ih, uint32(p)}
		freed += c.idx.remove(id)
		ids = append(ids, id)
	}
	c.mu.Unlock()
	err := c.deletePieces(ids, infoKey(ih))
	if err != nil {
		return c.noteWrite(err)
	}
	c.garbage += freed
	if freed > 0 {
		c.reclaim(0.5)
		c.garbage = 0
	}
	return nil
}
