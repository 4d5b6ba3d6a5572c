package piececache

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/torrentfs/torrentfs/internal/leakcheck"
)

// pieceFileCount is how many piece files dir holds.
func pieceFileCount(t *testing.T, dir string) int {
	t.Helper()
	files, foreign, err := scanPieces(dir)
	if err != nil || foreign != "" {
		t.Fatalf("scanPieces: %v, foreign %q", err, foreign)
	}
	return len(files)
}

// TestPieceFilesFollowTheIndex: overwriting, forgetting, evicting and
// deleting a torrent leave exactly one file per held piece.
func TestPieceFilesFollowTheIndex(t *testing.T) {
	defer leakcheck.Check(t)()
	c, dir := openTest(t, Options{MaxBytes: 1 << 20})
	ctx := context.Background()
	for p := range 4 {
		mustPut(t, c, hash(1), p, pieceData(1, p, 100<<10))
	}
	mustPut(t, c, hash(1), 2, pieceData(1, 9, 50<<10)) // overwrite
	if err := c.DeletePiece(ctx, hash(1), 3); err != nil {
		t.Fatal(err)
	}
	if n := pieceFileCount(t, dir); n != 3 {
		t.Fatalf("%d piece files for 3 pieces held", n)
	}
	for p := range 30 { // 3 MiB through a 1 MiB cache
		mustPut(t, c, hash(2), p, pieceData(2, p, 100<<10))
	}
	// The writer evicts after answering a batch; a request after it waits
	// for that.
	if err := c.DeletePiece(ctx, hash(99), 0); err != nil {
		t.Fatal(err)
	}
	if n, held := pieceFileCount(t, dir), c.Stats().Pieces; n != held {
		t.Fatalf("%d piece files for %d pieces held after eviction", n, held)
	}
	if err := c.DeleteTorrent(ctx, hash(2)); err != nil {
		t.Fatal(err)
	}
	if n, held := pieceFileCount(t, dir), c.Stats().Pieces; n != held {
		t.Fatalf("%d piece files for %d pieces held after DeleteTorrent", n, held)
	}
}

// TestOpenReconcilesFiles: what a crash can leave behind (a file no index
// entry names; an entry whose file never reached the disk) is cleaned up
// by the next Open, and new files never reuse a name.
func TestOpenReconcilesFiles(t *testing.T) {
	defer leakcheck.Check(t)()
	dir := t.TempDir()
	c, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	for p := range 3 {
		mustPut(t, c, hash(1), p, pieceData(1, p, 10<<10))
	}
	c.mu.Lock()
	lost, _ := c.idx.seqOf(pieceID{hash(1), 1})
	c.mu.Unlock()
	orphan := c.seq.Load() + 5
	if err := c.writePieceFile(orphan, pieceData(9, 9, 1000)); err != nil {
		t.Fatal(err)
	}
	c.Close()
	if err := os.Remove(c.piecePath(lost)); err != nil {
		t.Fatal(err)
	}

	c, err = Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if c.Has(hash(1), 1) {
		t.Errorf("piece whose file is missing still listed")
	}
	if _, err := os.Stat(c.piecePath(orphan)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("orphan file still there: %v", err)
	}
	if n := pieceFileCount(t, dir); n != 2 {
		t.Errorf("%d piece files, want 2", n)
	}
	if got := c.seq.Load(); got < orphan {
		t.Errorf("next sequence number %d would reuse the orphan's %d", got+1, orphan)
	}
	checkRead(t, c, hash(1), 0, pieceData(1, 0, 10<<10), 0, 10<<10)
	checkRead(t, c, hash(1), 2, pieceData(1, 2, 10<<10), 0, 10<<10)
}

// TestForeignFileUnderPieces: a file of the user's inside the pieces
// directory makes Open and Wipe refuse the directory, naming the file.
func TestForeignFileUnderPieces(t *testing.T) {
	defer leakcheck.Check(t)()
	dir := t.TempDir()
	c, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	mustPut(t, c, hash(1), 0, []byte("piece"))
	c.Close()
	mine := filepath.Join(dir, piecesDir, subdirOf(1), "notes.txt")
	if err := os.WriteFile(mine, []byte("mine"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(dir, Options{}); !errors.Is(err, ErrNotCache) {
		t.Errorf("Open = %v, want ErrNotCache", err)
	}
	if err := Wipe(dir); !errors.Is(err, ErrNotCache) {
		t.Errorf("Wipe = %v, want ErrNotCache", err)
	}
	if _, err := os.Stat(mine); err != nil {
		t.Errorf("the user's file: %v", err)
	}
	os.Remove(mine)
	if err := Wipe(dir); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, piecesDir)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("pieces directory after Wipe: %v", err)
	}
}

// TestReadPartialChunks reads ranges that start and end inside chunks, so
// that whole chunks are read and checked through the scratch buffer.
func TestReadPartialChunks(t *testing.T) {
	defer leakcheck.Check(t)()
	c, _ := openTest(t, Options{})
	data := pieceData(4, 0, 3*ChunkSize+100)
	mustPut(t, c, hash(4), 0, data)
	for _, r := range [][2]int{{1, 10}, {ChunkSize - 1, 2}, {100, 2 * ChunkSize}, {ChunkSize, ChunkSize}, {3 * ChunkSize, 100}, {3*ChunkSize + 50, 50}} {
		checkRead(t, c, hash(4), 0, data, int64(r[0]), r[1])
	}
}

// TestFormatOneRefused: a cache of format 1 (Badger's files in the
// directory itself) is refused with ErrVersion, and Wipe clears it.
func TestFormatOneRefused(t *testing.T) {
	defer leakcheck.Check(t)()
	dir := t.TempDir()
	for _, name := range []string{"MANIFEST", "KEYREGISTRY", "000001.vlog", "00001.mem", ownerFile} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte("old"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	_, err := Open(dir, Options{})
	var ve *VersionError
	if !errors.As(err, &ve) || ve.Have != 1 {
		t.Fatalf("Open of a format 1 cache = %v, want a VersionError for format 1", err)
	}
	if err := Wipe(dir); err != nil {
		t.Fatal(err)
	}
	c, err := Open(dir, Options{})
	if err != nil {
		t.Fatalf("Open after Wipe: %v", err)
	}
	mustPut(t, c, hash(1), 0, []byte("new"))
	c.Close()
}

// TestHexPad: piece file and directory names are fixed-width hex, longer
// only when the number needs it.
func TestHexPad(t *testing.T) {
	for _, c := range []struct {
		v    uint64
		w    int
		want string
	}{{0, 6, "000000"}, {1, 16, "0000000000000001"}, {0xabcdef, 6, "abcdef"}, {0x1abcdef, 6, "1abcdef"}} {
		if got := hexPad(c.v, c.w); got != c.want {
			t.Errorf("hexPad(%x, %d) = %q, want %q", c.v, c.w, got, c.want)
		}
	}
}
