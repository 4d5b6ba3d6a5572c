package metainfo

import (
	"fmt"
	"reflect"
	"testing"
)

// layoutInfo: pieces of 10 bytes over
//
//	a 0-25 | b empty at 25 | c 25-30 | d 30-42 | e 42-45 | f empty at 45
//
// so files cross piece boundaries and the last piece is 5 bytes.
func layoutInfo(t *testing.T) *Info {
	t.Helper()
	m, err := Parse(torrentWith(t, multiInfo("d", 10, "a", 25, "b", 0, "c", 5, "sub/d", 12, "sub/e", 3, "f", 0), nil))
	if err != nil {
		t.Fatal(err)
	}
	return m.Info
}

func TestLayout(t *testing.T) {
	i := layoutInfo(t)
	if i.NumPieces() != 5 || i.TotalLength != 45 {
		t.Fatalf("%d pieces, %d bytes", i.NumPieces(), i.TotalLength)
	}
	wantOffsets := []int64{0, 25, 25, 30, 42, 45}
	for k, f := range i.Files {
		if f.Offset != wantOffsets[k] {
			t.Errorf("files[%d].Offset = %d, want %d", k, f.Offset, wantOffsets[k])
		}
	}
	for p, want := range []struct{ off, size int64 }{{0, 10}, {10, 10}, {20, 10}, {30, 10}, {40, 5}} {
		if off, size := i.PieceOffset(p), i.PieceSize(p); off != want.off || size != want.size {
			t.Errorf("piece %d at %d size %d, want %d size %d", p, off, size, want.off, want.size)
		}
	}
	for off, want := range map[int64]int{0: 0, 9: 0, 10: 1, 29: 2, 30: 3, 44: 4} {
		if got := i.PieceAt(off); got != want {
			t.Errorf("PieceAt(%d) = %d, want %d", off, got, want)
		}
	}
	for f, want := range [][2]int{{0, 3}, {2, 2}, {2, 3}, {3, 5}, {4, 5}, {4, 4}} {
		if first, end := i.FilePieces(f); first != want[0] || end != want[1] {
			t.Errorf("FilePieces(%d) = [%d, %d), want %v", f, first, end, want)
		}
	}
	for off, want := range map[int64]int{0: 0, 24: 0, 25: 2, 29: 2, 30: 3, 41: 3, 42: 4, 44: 4} {
		if got := i.FileAt(off); got != want {
			t.Errorf("FileAt(%d) = %d, want %d", off, got, want)
		}
	}
	for _, tc := range []struct {
		off, n int64
		want   []int
	}{
		{20, 10, []int{0, 2}},
		{0, 45, []int{0, 2, 3, 4}},
		{25, 1, []int{2}},
		{-5, 6, []int{0}},
		{44, 100, []int{4}},
		{45, 1, nil},
		{0, 0, nil},
		{10, -3, nil},
	} {
		if got := i.FilesInRange(tc.off, tc.n); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("FilesInRange(%d, %d) = %v, want %v", tc.off, tc.n, got, tc.want)
		}
	}
	if got := i.PieceFiles(2); !reflect.DeepEqual(got, []int{0, 2}) {
		t.Errorf("PieceFiles(2) = %v", got)
	}
	if got := i.PieceFiles(4); !reflect.DeepEqual(got, []int{3, 4}) {
		t.Errorf("PieceFiles(4) = %v", got)
	}
	if err := layoutProblem(i); err != nil {
		t.Error(err)
	}
	if got := i.FullPath(3); !reflect.DeepEqual(got, []string{"d", "sub", "d"}) {
		t.Errorf("FullPath(3) = %q", got)
	}
	got := i.FullPath(0)
	got[0] = "changed"
	if i.Name != "d" || i.Files[0].Path[0] != "a" {
		t.Error("FullPath shares memory with Info")
	}
}

func TestFullPathSingleFile(t *testing.T) {
	m, err := Parse(torrentWith(t, singleInfo("only.bin", 16384, 10), nil))
	if err != nil {
		t.Fatal(err)
	}
	if got := m.Info.FullPath(0); !reflect.DeepEqual(got, []string{"only.bin"}) {
		t.Errorf("FullPath(0) = %q", got)
	}
}

func TestLayoutPanicsOnCallerBugs(t *testing.T) {
	i := layoutInfo(t)
	for name, f := range map[string]func(){
		"PieceAt(45)":      func() { i.PieceAt(45) },
		"PieceAt(-1)":      func() { i.PieceAt(-1) },
		"PieceOffset(5)":   func() { i.PieceOffset(5) },
		"PieceSize(-1)":    func() { i.PieceSize(-1) },
		"FilePieces(6)":    func() { i.FilePieces(6) },
		"FileAt(45)":       func() { i.FileAt(45) },
		"PieceFiles(5)":    func() { i.PieceFiles(5) },
		"FilePieces(-1)":   func() { i.FilePieces(-1) },
		"PieceOffset(-10)": func() { i.PieceOffset(-10) },
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s did not panic", name)
				}
			}()
			f()
		}()
	}
	if i.VerifyPiece(-1, nil) || i.VerifyPiece(5, nil) || i.VerifyPiece(0, make([]byte, 3)) {
		t.Error("VerifyPiece accepted a bad index or length")
	}
}

// layoutProblem checks the invariants a parsed Info promises.
func layoutProblem(i *Info) error {
	if i.PieceLength <= 0 || i.TotalLength <= 0 || len(i.Files) == 0 {
		return fmt.Errorf("piece length %d, total %d, %d files", i.PieceLength, i.TotalLength, len(i.Files))
	}
	n := int64(i.NumPieces())
	if n*i.PieceLength < i.TotalLength || (n-1)*i.PieceLength >= i.TotalLength {
		return fmt.Errorf("%d pieces of %d do not cover %d bytes exactly", n, i.PieceLength, i.TotalLength)
	}
	var sum int64
	for p := range i.NumPieces() {
		if size := i.PieceSize(p); size <= 0 || size > i.PieceLength {
			return fmt.Errorf("piece %d size %d", p, size)
		}
		sum += i.PieceSize(p)
	}
	if sum != i.TotalLength {
		return fmt.Errorf("piece sizes sum to %d, want %d", sum, i.TotalLength)
	}
	var off int64
	for k, f := range i.Files {
		if f.Offset != off || f.Length < 0 {
			return fmt.Errorf("files[%d] at %d length %d, want offset %d", k, f.Offset, f.Length, off)
		}
		if err := checkPath(f.Path); err != nil {
			return fmt.Errorf("files[%d]: %v", k, err)
		}
		first, end := i.FilePieces(k)
		if f.Length == 0 {
			if first != end {
				return fmt.Errorf("empty files[%d] has pieces [%d, %d)", k, first, end)
			}
		} else {
			if first != i.PieceAt(f.Offset) || end != i.PieceAt(f.Offset+f.Length-1)+1 {
				return fmt.Errorf("files[%d] pieces [%d, %d) wrong", k, first, end)
			}
			if i.FileAt(f.Offset) != k || i.FileAt(f.Offset+f.Length-1) != k {
				return fmt.Errorf("FileAt disagrees for files[%d]", k)
			}
		}
		off += f.Length
	}
	if off != i.TotalLength {
		return fmt.Errorf("files sum to %d, want %d", off, i.TotalLength)
	}
	if err := checkComponent(i.Name); err != nil {
		return err
	}
	if !i.MultiFile && (len(i.Files) != 1 || len(i.Files[0].Path) != 1 || i.Files[0].Path[0] != i.Name) {
		return fmt.Errorf("single-file torrent with files %+v", i.Files)
	}
	return checkTree(i.Files)
}
