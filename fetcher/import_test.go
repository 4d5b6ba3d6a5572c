package fetcher_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/torrentfs/torrentfs/fetcher"
	"github.com/torrentfs/torrentfs/piececache"
)

// writeFixture saves f's files under dir as a BitTorrent client would.
func writeFixture(t *testing.T, f *fixture, dir string) {
	t.Helper()
	for i := range f.mi.Info.Files {
		p := filepath.Join(append([]string{dir}, f.mi.Info.FullPath(i)...)...)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, f.files[i], 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func TestImportStoresWhatIsOnDisk(t *testing.T) {
	// Three files across 16 KiB pieces: files cross piece boundaries and
	// the last piece is short.
	f := newFixture(t, 16<<10, 40000, 5000, 70001)
	dir := t.TempDir()
	writeFixture(t, f, dir)
	store := piececache.NewMemory()
	ctx := context.Background()
	n := f.mi.Info.NumPieces()

	calls := 0
	st, err := fetcher.Import(ctx, store, f.mi, dir, func(done, total int) {
		calls++
		if done != calls || total != n {
			t.Errorf("progress(%d, %d), want (%d, %d)", done, total, calls, n)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	if want := (fetcher.ImportStats{Stored: n}); st != want {
		t.Fatalf("Import = %+v, want %+v", st, want)
	}
	buf := make([]byte, 16<<10)
	for p := range n {
		b := buf[:f.mi.Info.PieceSize(p)]
		if _, err := store.ReadAt(ctx, f.mi.InfoHash, p, b, 0); err != nil {
			t.Fatalf("piece %d: %v", p, err)
		}
		if !bytes.Equal(b, f.piece(p)) {
			t.Fatalf("piece %d stored wrong", p)
		}
	}

	again, err := fetcher.Import(ctx, store, f.mi, dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	if want := (fetcher.ImportStats{Held: n}); again != want {
		t.Errorf("second Import = %+v, want %+v", again, want)
	}
}

func TestImportSkipsMissingShortAndBadPieces(t *testing.T) {
	f := newFixture(t, 16<<10, 40000, 5000, 70001, 20000)
	dir := t.TempDir()
	writeFixture(t, f, dir)
	info := f.mi.Info
	path := func(i int) string { return filepath.Join(append([]string{dir}, info.FullPath(i)...)...) }

	// File 1 is gone, file 3 is short by one byte, and one byte in the
	// middle of file 2 is wrong.
	if err := os.Remove(path(1)); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(path(3), int64(len(f.files[3])-1)); err != nil {
		t.Fatal(err)
	}
	flip := int64(35000)
	bad := slices.Clone(f.files[2])
	bad[flip] ^= 0xff
	if err := os.WriteFile(path(2), bad, 0o644); err != nil {
		t.Fatal(err)
	}

	var want fetcher.ImportStats
	missing := map[int]bool{}
	for _, fi := range []int{1, 3} {
		first, end := info.FilePieces(fi)
		if fi == 3 {
			first = end - 1 // only its last byte is missing
		}
		for p := first; p < end; p++ {
			missing[p] = true
		}
	}
	badPiece := info.PieceAt(info.Files[2].Offset + flip)
	for p := range info.NumPieces() {
		switch {
		case missing[p]:
			want.Missing++
		case p == badPiece:
			want.Bad++
		default:
			want.Stored++
		}
	}

	store := piececache.NewMemory()
	st, err := fetcher.Import(context.Background(), store, f.mi, dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	if st != want {
		t.Errorf("Import = %+v, want %+v", st, want)
	}
	for p := range info.NumPieces() {
		if got := store.Has(f.mi.InfoHash, p); got != (!missing[p] && p != badPiece) {
			t.Errorf("piece %d stored = %v", p, got)
		}
	}
}

func TestImportStopsWithContext(t *testing.T) {
	f := newFixture(t, 16<<10, 100000)
	dir := t.TempDir()
	writeFixture(t, f, dir)
	ctx, cancel := context.WithCancel(context.Background())
	st, err := fetcher.Import(ctx, piececache.NewMemory(), f.mi, dir, func(done, _ int) {
		if done == 2 {
			cancel()
		}
	})
	if err == nil || ctx.Err() == nil {
		t.Fatalf("Import after cancel: %+v, %v; want the context's error", st, err)
	}
	if st.Stored != 2 {
		t.Errorf("stored %d pieces before stopping, want 2", st.Stored)
	}
}
