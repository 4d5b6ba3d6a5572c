package metainfo

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/torrentfs/torrentfs/internal/testbytes"
)

// FuzzCreate builds torrents from fuzzed names, paths, lengths and piece
// lengths. Create must accept exactly the shapes Parse accepts, and what it
// makes must parse back to the same files with verifying pieces.
func FuzzCreate(f *testing.F) {
	f.Add("d", "a\nsub/b\nsub/c", []byte{200, 0, 17}, uint8(4))
	f.Add("x", "a\na", []byte{1, 1}, uint8(0))
	f.Add("..", "a/../b", []byte{3}, uint8(10))
	f.Add("n", "a\na/b", []byte{5, 5}, uint8(3))
	f.Fuzz(func(t *testing.T, name, paths string, lens []byte, plExp uint8) {
		pl := int64(1) << (plExp % 16)
		var files []CreateFile
		var stream []byte
		listed := []any{}
		for i, p := range strings.Split(paths, "\n") {
			if i == 16 {
				break
			}
			var n int64
			if i < len(lens) {
				n = int64(lens[i]) * 13
			}
			files = append(files, CreateFile{Path: strings.Split(p, "/"), Length: n, Data: testbytes.Reader(uint64(i), n)})
			stream = append(stream, testbytes.Bytes(uint64(i), int(n))...)
			listed = append(listed, map[string]any{"length": n, "path": strings.Split(p, "/")})
		}
		info := map[string]any{"name": name, "piece length": pl, "files": listed, "pieces": fakePieces(int64(len(stream)), pl)}
		_, parseErr := ParseInfo(mustEncode(t, info))

		_, m, err := Create(CreateOptions{Name: name, PieceLength: pl}, files)
		if (err == nil) != (parseErr == nil) {
			t.Fatalf("Create error %v but Parse error %v", err, parseErr)
		}
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("error %v does not match ErrInvalid", err)
			}
			return
		}
		if err := layoutProblem(m.Info); err != nil {
			t.Fatal(err)
		}
		for k, f := range m.Info.Files {
			if !reflect.DeepEqual(f.Path, files[k].Path) || f.Length != files[k].Length {
				t.Fatalf("files[%d] = %+v", k, f)
			}
		}
		for p := range m.Info.NumPieces() {
			off := m.Info.PieceOffset(p)
			if !m.Info.VerifyPiece(p, stream[off:off+m.Info.PieceSize(p)]) {
				t.Fatalf("piece %d does not verify", p)
			}
		}
	})
}
