package piececache

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/dgraph-io/badger/v4"
	"github.com/torrentfs/torrentfs/internal/leakcheck"
)

func TestPersistence(t *testing.T) {
	defer leakcheck.Check(t)()
	dir := t.TempDir()
	c, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	sizes := map[int]int{0: 1 << 20, 1: 1 << 20, 2: 256 << 10, 5: 12345}
	for p, n := range sizes {
		mustPut(t, c, hash(1), p, pieceData(1, p, n))
	}
	mustPut(t, c, hash(2), 9, pieceData(2, 9, 300))
	before := c.Stats()
	if err := c.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}

	c, err = Open(dir, Options{})
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	defer c.Close()
	if got, err := c.Pieces(context.Background(), hash(1)); err != nil || !slices.Equal(got, []int{0, 1, 2, 5}) {
		t.Fatalf("Pieces after reopen = %v, %v; want [0 1 2 5]", got, err)
	}
	for p, n := range sizes {
		checkRead(t, c, hash(1), p, pieceData(1, p, n), 0, n)
	}
	checkRead(t, c, hash(2), 9, pieceData(2, 9, 300), 0, 300)
	if after := c.Stats(); after != before {
		t.Errorf("Stats after reopen = %+v, before close %+v", after, before)
	}
}

func TestSecondOpenInProcess(t *testing.T) {
	defer leakcheck.Check(t)()
	c, dir := openTest(t, Options{})
	_, err := Open(dir, Options{})
	if !errors.Is(err, ErrInUse) {
		t.Fatalf("second Open = %v, want ErrInUse", err)
	}
	want := fmt.Sprintf("piececache: cache directory %s is in use by another torrentfs process (PID %d)", dir, os.Getpid())
	if err.Error() != want {
		t.Errorf("second Open error = %q, want %q", err, want)
	}
	// The failed Open must not have disturbed the first.
	mustPut(t, c, hash(1), 0, []byte("still works"))
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	c2, err := Open(dir, Options{})
	if err != nil {
		t.Fatalf("Open after Close: %v", err)
	}
	c2.Close()
}

// TestHelperHoldCache is not a test: TestSecondOpenOtherProcess runs the
// test binary with it to hold a cache open in another process.
func TestHelperHoldCache(t *testing.T) {
	dir := os.Getenv("PIECECACHE_HOLD_DIR")
	if dir == "" {
		t.Skip("helper process only")
	}
	c, err := Open(dir, Options{})
	if err != nil {
		fmt.Println("error:", err)
		os.Exit(1)
	}
	fmt.Println("ready")
	os.Stdin.Read(make([]byte, 1)) // until the parent closes stdin or kills us
	c.Close()
	os.Exit(0)
}

func TestSecondOpenOtherProcess(t *testing.T) {
	defer leakcheck.Check(t)()
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperHoldCache$")
	cmd.Env = append(os.Environ(), "PIECECACHE_HOLD_DIR="+dir)
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer stdin.Close()
	line, _ := bufio.NewReader(stdout).ReadString('\n')
	if strings.TrimSpace(line) != "ready" {
		cmd.Process.Kill()
		cmd.Wait()
		t.Fatalf("helper said %q", line)
	}

	_, err := Open(dir, Options{})
	var inUse *InUseError
	if !errors.As(err, &inUse) || !errors.Is(err, ErrInUse) {
		t.Fatalf("Open of a directory held by PID %d = %v, want an InUseError", cmd.Process.Pid, err)
	}
	if inUse.PID != cmd.Process.Pid || !strings.Contains(err.Error(), "(PID "+strconv.Itoa(cmd.Process.Pid)+")") {
		t.Errorf("error names PID %d (%q), want %d", inUse.PID, err, cmd.Process.Pid)
	}

	// A holder that dies without closing leaves owner.pid behind; that
	// must not block the next Open.
	cmd.Process.Kill()
	cmd.Wait()
	if _, err := os.Stat(filepath.Join(dir, ownerFile)); err != nil {
		t.Fatalf("owner file: %v", err)
	}
	c, err := Open(dir, Options{})
	if err != nil {
		t.Fatalf("Open after the holder was killed: %v", err)
	}
	defer c.Close()
	if got := readPID(filepath.Join(dir, ownerFile)); got != os.Getpid() {
		t.Errorf("owner file names PID %d, want ours (%d)", got, os.Getpid())
	}
}

func TestUnknownFormatVersion(t *testing.T) {
	defer leakcheck.Check(t)()
	dir := t.TempDir()
	c, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	mustPut(t, c, hash(1), 0, []byte("old"))
	var v [4]byte
	binary.BigEndian.PutUint32(v[:], 99)
	if err := c.db.Update(func(txn *badger.Txn) error { return txn.Set(versionKey, v[:]) }); err != nil {
		t.Fatal(err)
	}
	c.Close()

	_, err = Open(dir, Options{})
	want := fmt.Sprintf("piececache: cache at %s has format version 99, this build uses %d", dir, FormatVersion)
	if !errors.Is(err, ErrVersion) || err.Error() != want {
		t.Fatalf("Open = %v, want %q wrapping ErrVersion", err, want)
	}
	// The failed Open released the directory.
	l, err := lockDir(dir)
	if err != nil {
		t.Fatalf("directory still locked after the failed Open: %v", err)
	}
	l.unlock()
}

// corruptStored rewrites the file of a piece, applying f to its bytes, as
// bit rot or a torn write would.
func corruptStored(t *testing.T, c *Cache, ih [20]byte, piece int, f func(v []byte) []byte) {
	t.Helper()
	c.mu.Lock()
	seq, ok := c.idx.seqOf(pieceID{ih, uint32(piece)})
	c.mu.Unlock()
	if !ok {
		t.Fatalf("piece %d not held", piece)
	}
	path := c.piecePath(seq)
	v, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, f(v), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestCorruptChunk(t *testing.T) {
	defer leakcheck.Check(t)()
	c, _ := openTest(t, Options{})
	ctx := context.Background()
	ih := hash(1)
	data := pieceData(1, 4, 256<<10)
	mustPut(t, c, ih, 4, data)
	mustPut(t, c, ih, 5, pieceData(1, 5, 1000))
	// Flip one bit in chunk 2 of the piece bytes.
	corruptStored(t, c, ih, 4, func(v []byte) []byte {
		v[len(v)-len(data)+2*ChunkSize+77] ^= 0x10
		return v
	})

	// Reads of other chunks verify only those chunks, and succeed.
	checkRead(t, c, ih, 4, data, 0, 2*ChunkSize)
	checkRead(t, c, ih, 4, data, 3*ChunkSize, ChunkSize)

	// A read touching chunk 2 fails, and the piece is forgotten.
	_, err := c.ReadAt(ctx, ih, 4, make([]byte, 128<<10), ChunkSize+ChunkSize/2)
	if !errors.Is(err, ErrCorrupt) {
		t.Fatalf("ReadAt over the corrupt chunk = %v, want ErrCorrupt", err)
	}
	if c.Has(ih, 4) {
		t.Errorf("Has(corrupt piece) = true after ReadAt found it corrupt")
	}
	if _, err := c.ReadAt(ctx, ih, 4, make([]byte, 10), 0); !errors.Is(err, ErrNotFound) {
		t.Errorf("ReadAt after forgetting = %v, want ErrNotFound", err)
	}
	if got, _ := c.Pieces(ctx, ih); !slices.Equal(got, []int{5}) {
		t.Errorf("Pieces = %v, want [5]", got)
	}
	if st := c.Stats(); st.Pieces != 1 {
		t.Errorf("Stats = %+v, want 1 piece", st)
	}
	// It can be stored again.
	mustPut(t, c, ih, 4, data)
	checkRead(t, c, ih, 4, data, 0, len(data))
}

func TestCorruptHeader(t *testing.T) {
	defer leakcheck.Check(t)()
	c, _ := openTest(t, Options{})
	ih := hash(2)
	for name, f := range map[string]func([]byte) []byte{
		"torn":        func(v []byte) []byte { return v[:len(v)-1000] },
		"format":      func(v []byte) []byte { v[0] = 7; return v },
		"length":      func(v []byte) []byte { v[4]++; return v },
		"crc":         func(v []byte) []byte { v[valueFixedHeader] ^= 1; return v },
		"empty":       func([]byte) []byte { return nil },
		"header only": func(v []byte) []byte { return v[:3] },
	} {
		data := pieceData(2, 0, 100<<10)
		mustPut(t, c, ih, 0, data)
		corruptStored(t, c, ih, 0, f)
		if n, err := c.ReadAt(context.Background(), ih, 0, make([]byte, 10), 0); !errors.Is(err, ErrCorrupt) || n != 0 {
			t.Errorf("%s: ReadAt = %d, %v; want 0, ErrCorrupt", name, n, err)
		}
		if c.Has(ih, 0) {
			t.Errorf("%s: piece still held", name)
		}
	}
}

// TestCorruptOnDisk flips a byte of a piece inside its file while the
// cache is closed: the reopened cache must not serve it.
func TestCorruptOnDisk(t *testing.T) {
	defer leakcheck.Check(t)()
	dir := t.TempDir()
	c, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	data := pieceData(3, 0, 200<<10)
	mustPut(t, c, hash(3), 0, data)
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}

	files, _ := filepath.Glob(filepath.Join(dir, piecesDir, "*", "*"))
	flipped := false
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		if i := bytes.Index(b, data[100<<10:100<<10+64]); i >= 0 {
			b[i+10] ^= 0xff
			if err := os.WriteFile(name, b, 0o644); err != nil {
				t.Fatal(err)
			}
			flipped = true
		}
	}
	if !flipped {
		t.Fatalf("piece bytes not found in %v", files)
	}

	var logs syncBuffer
	c, err = Open(dir, Options{Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	defer func() {
		c.Close()
		if s := logs.String(); !strings.Contains(s, "forgetting corrupt piece") {
			t.Errorf("log does not show the forgotten piece:\n%s", s)
		}
	}()
	got := make([]byte, len(data))
	n, err := c.ReadAt(context.Background(), hash(3), 0, got, 0)
	if err == nil || bytes.Equal(got[:n], data) {
		t.Fatalf("ReadAt of a piece corrupted on disk = %d, %v", n, err)
	}
	if !errors.Is(err, ErrCorrupt) {
		t.Errorf("ReadAt error = %v, want ErrCorrupt", err)
	}
	if c.Has(hash(3), 0) {
		t.Errorf("piece still held after ReadAt found it corrupt")
	}
}

// syncBuffer is a bytes.Buffer safe for concurrent writers.
type syncBuffer struct {
	mu sync.Mutex // guards b
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestBadgerLockHeldElsewhere: a program that holds Badger's own lock but
// not ours (another tool, an older build) also gives ErrInUse, naming the
// PID Badger's lock file holds.
func TestBadgerLockHeldElsewhere(t *testing.T) {
	defer leakcheck.Check(t)()
	dir := t.TempDir()
	// What Badger does: flock its directory, write the PID to LOCK.
	idx := filepath.Join(dir, indexDir)
	if err := os.Mkdir(idx, 0o755); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(idx)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := flock(f, syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(idx, badgerPIDFile), []byte("4242\n"), 0o644); err != nil {
		t.Fatal(err)
	}

	_, err = Open(dir, Options{})
	var inUse *InUseError
	if !errors.As(err, &inUse) || inUse.PID != 4242 {
		t.Fatalf("Open with Badger's lock held = %v, want an InUseError naming PID 4242", err)
	}
	// Our own lock was released on the way out.
	l, err := lockDir(dir)
	if err != nil {
		t.Fatalf("owner lock still held: %v", err)
	}
	l.unlock()
}
