package piececache

import (
	"context"
	"encoding/binary"
	"fmt"
	"time"

	"github.com/dgraph-io/badger/v4"
)

// Every write to Badger happens on the writer goroutine, started by Open
// and stopped by Close. That serialises index updates with the writes they
// describe, and lets DeleteTorrent's DropPrefix run without racing other
// writes (DropPrefix fails concurrent writes with ErrBlockedWrites). Piece
// files are written by Put's caller before the writer indexes them, and
// deleted by the writer once the index no longer names them.

// defaultMaxBatch bounds how many queued requests one Badger transaction
// commits.
const defaultMaxBatch = 64

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
	key        []byte // opPutInfo
	value      []byte // opPutInfo
	seq        uint64 // opPut: the piece's new file; opForget: the file found corrupt
	plen       int    // opPut: the piece's length
	anyVersion bool   // opForget: delete whatever file the piece has
	done       chan error
}

// Put stores data as piece of the torrent ih, replacing any earlier copy.
// data must already be verified; Put writes it to a new file before it
// returns (so the caller may reuse data even if ctx ends meanwhile). When
// Put returns nil a ReadAt of the piece sees the new bytes.
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
	if err := c.checkSpace(fileBytes(len(data))); err != nil {
		return fmt.Errorf("piececache: put piece %d of %x: %w", piece, ih, c.noteWrite(err))
	}
	// The file (and its CRCs) is written here, in parallel with other
	// callers; the writer only indexes it.
	seq := c.seq.Add(1)
	if err := c.writePieceFile(seq, data); err != nil {
		return fmt.Errorf("piececache: put piece %d of %x: %w", piece, ih, c.noteWrite(err))
	}
	r := &request{op: opPut, id: pieceID{ih, uint32(piece)}, seq: seq, plen: len(data)}
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
// hold an op (c.begin), which keeps the writer running. A Put's file
// belongs to the writer once r is handed over, and is deleted here if it
// never is.
func (c *Cache) submit(ctx context.Context, r *request) error {
	r.done = make(chan error, 1)
	select {
	case c.reqs <- r:
	case <-ctx.Done():
		if r.op == opPut {
			c.removePieceFile(r.seq)
		}
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
		more:
			for len(batch) < maxBatch {
				select {
				case r := <-c.reqs:
					batch = append(batch, r)
				default:
					break more
				}
			}
			c.apply(batch)
			clear(batch)
			c.maybeEvict()
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
			r.done <- c.forget(r.id, r.seq, r.anyVersion)
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

// putAll indexes puts, with their use stamps, in as few transactions as
// Badger allows, then records them in the in-memory index, deletes the
// files they replace and answers them.
func (c *Cache) putAll(puts []*request) {
	var stamp [4]byte
	now := uint32(c.now().Unix())
	binary.BigEndian.PutUint32(stamp[:], now)
	txn := newSplitTxn(c.db)
	defer txn.discard()
	var err error
	for _, r := range puts {
		if err = txn.set(pieceKey(r.id.ih, r.id.piece), encodePieceValue(r.seq, r.plen)); err != nil {
			break
		}
		if err = txn.set(stampKey(r.id.ih, r.id.piece), stamp[:]); err != nil {
			break
		}
	}
	if err == nil {
		err = txn.commit()
	}
	if err != nil {
		// Some entries may have been committed with an earlier
		// transaction; the next Open forgets them (their files are gone).
		err = c.noteWrite(err)
		for _, r := range puts {
			c.removePieceFile(r.seq)
			r.done <- err
		}
		return
	}
	c.noteWrite(nil)
	var replaced []uint64
	c.mu.Lock()
	for _, r := range puts {
		if old, ok := c.idx.seqOf(r.id); ok {
			replaced = append(replaced, old)
		}
		c.idx.add(r.id, fileBytes(r.plen))
		c.idx.setSeq(r.id, r.seq)
		c.idx.setStamp(r.id, now)
		delete(c.dirty, r.id)
	}
	c.mu.Unlock()
	for _, seq := range replaced {
		c.removePieceFile(seq)
	}
	for _, r := range puts {
		r.done <- nil
	}
}

// forget deletes id if its file is still seq (a newer Put may have
// replaced the file a reader found corrupt), or whatever its file.
func (c *Cache) forget(id pieceID, seq uint64, anyVersion bool) error {
	c.mu.Lock()
	cur, ok := c.idx.seqOf(id)
	if !ok || (!anyVersion && cur != seq) {
		c.mu.Unlock()
		return nil
	}
	c.idx.remove(id)
	c.mu.Unlock()
	err := c.deletePieces([]pieceID{id})
	c.removePieceFile(cur)
	if err != nil {
		return fmt.Errorf("piececache: delete piece %d of %x: %w", id.piece, id.ih, c.noteWrite(err))
	}
	return nil
}

// deleteTorrent forgets every piece of ih and its info, then reclaims.
func (c *Cache) deleteTorrent(ih [20]byte) error {
	c.mu.Lock()
	var ids []pieceID
	var seqs []uint64
	for _, p := range c.idx.list(ih) {
		id := pieceID{ih, uint32(p)}
		seq, _ := c.idx.seqOf(id)
		c.idx.remove(id)
		ids = append(ids, id)
		seqs = append(seqs, seq)
	}
	c.mu.Unlock()
	err := c.deletePieces(ids, infoKey(ih))
	for _, seq := range seqs {
		c.removePieceFile(seq)
	}
	if err != nil {
		return c.noteWrite(err)
	}
	removeEmptyPieceDirs(c.dir)
	c.reclaim(0.5) // the info dictionary, if it went to the value log
	return nil
}
