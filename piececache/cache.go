package piececache

import (
	"cmp"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dgraph-io/badger/v4"
)

// Cache is a persistent store of verified pieces: one file per piece,
// indexed in a Badger database (files.go). Its methods are safe for
// concurrent use.
//
// Put writes a piece's file on the caller's goroutine; every write to
// Badger goes through one goroutine (writer.go), which Close stops. Reads
// find the file in the in-memory index and read it directly.
type Cache struct {
	dir  string
	db   *badger.DB
	lock *dirLock
	log  *slog.Logger
	opts Options

	reqs       chan *request // to the writer
	quit       chan struct{} // closed by Close to stop the writer
	writerDone chan struct{} // closed by the writer when it returns

	ops sync.WaitGroup // calls in flight; Close waits for them before closing db

	seq     atomic.Uint64 // the last piece file sequence number handed out (files.go)
	scratch sync.Pool     // *[]byte for reads of partial chunks (value.go)

	// overhead is what the directory took on disk beyond the live pieces'
	// files when last measured (evict.go): Badger's files and the piece
	// directories. Only the writer goroutine touches it.
	overhead int64

	// failure is the last write error, until a write succeeds again; Put
	// fails fast while it is recent (see disk.go).
	failure atomic.Pointer[writeFailure]

	mu     sync.Mutex // guards idx, dirty and closed; never held across Badger calls
	idx    *index
	dirty  map[pieceID]uint32 // use stamps not yet written (stamps.go)
	closed bool
}

var (
	_ store = (*Cache)(nil)
	_ store = (*Memory)(nil)
)

// store is what both implementations offer (fetcher defines its own
// Storage interface; this only checks that the two agree).
type store interface {
	Put(ctx context.Context, ih [20]byte, piece int, data []byte) error
	ReadAt(ctx context.Context, ih [20]byte, piece int, p []byte, off int64) (int, error)
	Has(ih [20]byte, piece int) bool
	Pieces(ctx context.Context, ih [20]byte) ([]int, error)
	DeletePiece(ctx context.Context, ih [20]byte, piece int) error
	DeleteTorrent(ctx context.Context, ih [20]byte) error
	Pin(ih [20]byte, piece int)
	Unpin(ih [20]byte, piece int)
	PinnedBytes() int64
	Limit() int64
	Stats() Stats
	Torrents() []TorrentStats
	Close() error
}

// Open opens (creating if needed) the cache in dir. It fails with an error
// wrapping ErrInUse if another Cache holds dir, with one wrapping
// ErrVersion if dir was written in an unknown format, with one wrapping
// ErrDamaged if Badger cannot read it (Wipe is the remedy), and with one
// wrapping ErrNotCache if dir holds files a cache does not create (so that
// a cache never litters a directory of the user's).
//
// When Badger fails late in its Open it leaves two idle goroutines
// behind (a cache monitor and an allocator pool that its cleanup does not
// stop); they wake once a minute and cost nothing else.
func Open(dir string, opts Options) (*Cache, error) {
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("piececache: %w", err)
	}
	if name, err := foreignFile(dir); err != nil {
		return nil, fmt.Errorf("piececache: %w", err)
	} else if name != "" {
		return nil, refuseUse(dir, name)
	}
	lock, err := lockDir(dir)
	if err != nil {
		return nil, err
	}
	if hasLegacyLayout(dir) {
		lock.unlock()
		return nil, &VersionError{Dir: dir, Have: 1, Want: FormatVersion}
	}
	// The piece files, listed once, under the lock: what the index is
	// matched against below, and the last check for foreign files.
	files, name, err := scanPieces(dir)
	if err != nil {
		lock.unlock()
		return nil, &DamagedError{Dir: dir, Err: fmt.Errorf("list piece files: %w", err)}
	}
	if name != "" {
		lock.unlock()
		return nil, refuseUse(dir, name)
	}
	idxDir := filepath.Join(dir, indexDir)
	db, err := openBadger(badgerOptions(idxDir, opts, log))
	if err != nil {
		lock.unlock()
		if pid, held := badgerLockHolder(idxDir); held {
			return nil, &InUseError{Dir: dir, PID: pid}
		}
		return nil, &DamagedError{Dir: dir, Err: err}
	}
	c := &Cache{
		dir: dir, db: db, lock: lock, log: log, opts: opts,
		dirty:      map[pieceID]uint32{},
		reqs:       make(chan *request),
		quit:       make(chan struct{}),
		writerDone: make(chan struct{}),
	}
	if err := c.checkVersion(); err != nil {
		db.Close()
		lock.unlock()
		return nil, err
	}
	idx, err := c.loadIndex()
	if err != nil {
		db.Close()
		lock.unlock()
		return nil, err
	}
	c.idx = idx
	if err := c.matchFiles(files); err != nil {
		db.Close()
		lock.unlock()
		return nil, err
	}
	c.saveLimit()
	go c.writeLoop()
	return c, nil
}

// openBadger opens the database, turning a panic inside Badger (which some
// damaged files provoke) into an error.
func openBadger(o badger.Options) (db *badger.DB, err error) {
	defer func() {
		if r := recover(); r != nil {
			db, err = nil, fmt.Errorf("badger panicked: %v", r)
		}
	}()
	return badger.Open(o)
}

// checkVersion writes FormatVersion into a new cache and refuses a cache of
// any other version.
func (c *Cache) checkVersion() error {
	err := c.db.Update(func(txn *badger.Txn) error {
		item, err := txn.Get(versionKey)
		if errors.Is(err, badger.ErrKeyNotFound) {
			var v [4]byte
			binary.BigEndian.PutUint32(v[:], FormatVersion)
			return txn.Set(versionKey, v[:])
		}
		if err != nil {
			return err
		}
		return item.Value(func(v []byte) error {
			if len(v) != 4 {
				return &VersionError{Dir: c.dir, Want: FormatVersion, Malformed: true}
			}
			if have := binary.BigEndian.Uint32(v); have != FormatVersion {
				return &VersionError{Dir: c.dir, Have: have, Want: FormatVersion}
			}
			return nil
		})
	})
	var ve *VersionError
	if err != nil && !errors.As(err, &ve) {
		return &DamagedError{Dir: c.dir, Err: fmt.Errorf("check format version: %w", err)}
	}
	return err
}

// loadIndex lists the held pieces and their files, and orders them by
// their persisted use stamps (pieces without one count as oldest).
func (c *Cache) loadIndex() (*index, error) {
	type entry struct {
		id    pieceID
		seq   uint64
		plen  int
		stamp uint32
	}
	var entries []entry
	stamps := map[pieceID]uint32{}
	err := c.db.View(func(txn *badger.Txn) error {
		o := badger.DefaultIteratorOptions
		o.PrefetchValues = false
		o.Prefix = []byte{stampPrefix}
		it := txn.NewIterator(o)
		for it.Rewind(); it.Valid(); it.Next() {
			item := it.Item()
			ih, piece, ok := parseKey(item.Key(), stampPrefix)
			if !ok {
				continue
			}
			_ = item.Value(func(v []byte) error { // small: kept in the LSM tree
				if len(v) == 4 {
					stamps[pieceID{ih, piece}] = binary.BigEndian.Uint32(v)
				}
				return nil
			})
		}
		it.Close()

		o.Prefix = []byte{piecePrefix}
		it = txn.NewIterator(o)
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			item := it.Item()
			ih, piece, ok := parsePieceKey(item.Key())
			var seq uint64
			var plen int
			if ok {
				err := item.Value(func(v []byte) error { // small: kept in the LSM tree
					seq, plen, ok = decodePieceValue(v)
					return nil
				})
				if err != nil {
					return err
				}
			}
			if !ok {
				c.log.Warn("piececache: ignoring malformed index entry", "key", fmt.Sprintf("%x", item.Key()))
				continue
			}
			id := pieceID{ih, piece}
			entries = append(entries, entry{id, seq, plen, stamps[id]})
		}
		return nil
	})
	if err != nil {
		return nil, &DamagedError{Dir: c.dir, Err: fmt.Errorf("list pieces: %w", err)}
	}
	// Oldest first, so that the last added is the most recently used; ties
	// keep key order.
	slices.SortStableFunc(entries, func(a, b entry) int { return cmp.Compare(a.stamp, b.stamp) })
	idx := newIndex()
	for _, e := range entries {
		idx.add(e.id, fileBytes(e.plen))
		idx.setSeq(e.id, e.seq)
		idx.setStamp(e.id, e.stamp)
	}
	return idx, nil
}

// matchFiles reconciles the index with the piece files (scanPieces)
// after a crash (see files.go): it deletes files the index does not name,
// forgets pieces whose file is missing, and sets the next sequence number
// past every one in use. It runs in Open, before the writer starts.
func (c *Cache) matchFiles(files map[uint64]bool) error {
	var maxSeq uint64
	named := make(map[uint64]bool, c.idx.pieces)
	var missing []pieceID
	for _, n := range c.idx.nodes {
		if n.t == nil {
			continue
		}
		maxSeq = max(maxSeq, n.seq)
		named[n.seq] = true
		if !files[n.seq] {
			missing = append(missing, pieceID{n.t.ih, n.piece})
		}
	}
	for _, id := range missing {
		c.idx.remove(id)
	}
	if len(missing) > 0 {
		c.log.Warn("piececache: forgetting pieces whose files are missing", "pieces", len(missing))
		if err := c.deletePieces(missing); err != nil {
			return &DamagedError{Dir: c.dir, Err: fmt.Errorf("forget pieces without files: %w", err)}
		}
	}
	for seq := range files {
		maxSeq = max(maxSeq, seq)
		if !named[seq] {
			c.removePieceFile(seq)
		}
	}
	removeEmptyPieceDirs(c.dir)
	c.seq.Store(maxSeq)
	return nil
}

func refuseUse(dir, foreign string) error {
	return fmt.Errorf("piececache: refusing to use %s as a cache: it holds %q, which torrentfs did not create (choose an empty or new directory): %w",
		dir, foreign, ErrNotCache)
}

// begin registers a call in flight, or fails if the cache is closed.
func (c *Cache) begin() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return ErrClosed
	}
	c.ops.Add(1)
	return nil
}

// Has reports whether the piece is held. It does no I/O.
func (c *Cache) Has(ih [20]byte, piece int) bool {
	if !validPiece(piece) {
		return false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return !c.closed && c.idx.has(pieceID{ih, uint32(piece)})
}

// Pieces returns the indexes of ih's held pieces in increasing order. It
// does no I/O.
func (c *Cache) Pieces(ctx context.Context, ih [20]byte) ([]int, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("piececache: pieces: %w", err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return nil, ErrClosed
	}
	return c.idx.list(ih), nil
}

// Stats reports what is held.
func (c *Cache) Stats() Stats {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.idx.stats()
}

// Torrents reports what is held of each torrent, in info-hash order.
func (c *Cache) Torrents() []TorrentStats {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.idx.torrentStats()
}

// Dir is the cache directory.
func (c *Cache) Dir() string { return c.dir }

// now is the clock for use stamps.
func (c *Cache) now() time.Time {
	if c.opts.now != nil {
		return c.opts.now()
	}
	return time.Now()
}

// Close waits for calls in flight, stops the writer, closes the database
// and releases the directory. Later calls fail with ErrClosed; a second
// Close returns nil.
func (c *Cache) Close() error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil
	}
	c.closed = true
	c.mu.Unlock()

	c.ops.Wait()
	close(c.quit)
	<-c.writerDone
	err := c.db.Close()
	if uerr := c.lock.unlock(); err == nil {
		err = uerr
	}
	if err != nil {
		return fmt.Errorf("piececache: close %s: %w", c.dir, err)
	}
	return nil
}
