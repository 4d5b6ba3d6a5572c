package metainfo

import (
	"bytes"
	"context"
	"crypto/sha1"
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/torrentfs/torrentfs/internal/leakcheck"
	"github.com/torrentfs/torrentfs/internal/testbytes"
)

func TestCreateParseRoundTrip(t *testing.T) {
	defer leakcheck.Check(t)()
	sizes := []int64{40000, 0, 1, 16384, 70001}
	var files []CreateFile
	var stream []byte
	for k, n := range sizes {
		b := testbytes.Bytes(uint64(k+1), int(n))
		stream = append(stream, b...)
		f := CreateFile{Path: []string{"dir", string(rune('a' + k))}, Length: n}
		if n > 0 {
			f.Data = bytes.NewReader(b)
		}
		files = append(files, f)
	}
	opts := CreateOptions{
		Name:         "set",
		PieceLength:  16384,
		Announce:     "http://t/announce",
		AnnounceList: [][]string{{"http://t/announce"}, {"udp://u:1"}},
		URLList:      []string{"http://w/"},
		Private:      true,
		CreatedBy:    "test",
		Comment:      "hello",
		CreationDate: time.Unix(1234567890, 0),
	}
	raw, m, err := Create(opts, files)
	if err != nil {
		t.Fatal(err)
	}
	m2, err := Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(m, m2) {
		t.Errorf("Create's MetaInfo differs from Parse of its bytes")
	}
	i := m.Info
	if i.Name != "set" || !i.MultiFile || !i.Private || i.TotalLength != int64(len(stream)) || len(i.Files) != len(sizes) {
		t.Fatalf("info %+v", i)
	}
	if i.NumPieces() != (len(stream)+16383)/16384 {
		t.Fatalf("%d pieces", i.NumPieces())
	}
	for p := range i.NumPieces() {
		piece := stream[i.PieceOffset(p) : i.PieceOffset(p)+i.PieceSize(p)]
		if i.Pieces[p] != sha1.Sum(piece) || !i.VerifyPiece(p, piece) {
			t.Errorf("piece %d hash wrong", p)
		}
	}
	if i.VerifyPiece(0, stream[1:16385]) {
		t.Error("VerifyPiece accepted wrong bytes")
	}
	for k, f := range i.Files {
		if !reflect.DeepEqual(f.Path, files[k].Path) || f.Length != sizes[k] {
			t.Errorf("files[%d] = %+v", k, f)
		}
	}
	if m.Announce != opts.Announce || !reflect.DeepEqual(m.AnnounceList, opts.AnnounceList) ||
		!reflect.DeepEqual(m.URLList, opts.URLList) || m.Comment != "hello" || m.CreatedBy != "test" ||
		!m.CreationDate.Equal(opts.CreationDate) {
		t.Errorf("metadata %+v", m)
	}
	if m.InfoHash != sha1.Sum(m.InfoBytes) || !bytes.Contains(raw, m.InfoBytes) {
		t.Error("info hash not over the info bytes")
	}
	// Deterministic: the same input gives the same torrent.
	raw2, _, err := Create(opts, files)
	if err != nil || !bytes.Equal(raw, raw2) {
		t.Errorf("second Create differs (%v)", err)
	}
	if err := layoutProblem(i); err != nil {
		t.Error(err)
	}
}

func TestCreateSingleFile(t *testing.T) {
	defer leakcheck.Check(t)()
	data := testbytes.Bytes(7, 100000)
	raw, m, err := Create(CreateOptions{Name: "big.bin", SingleFile: true},
		[]CreateFile{{Path: []string{"ignored"}, Length: int64(len(data)), Data: testbytes.Reader(7, int64(len(data)))}})
	if err != nil {
		t.Fatal(err)
	}
	i := m.Info
	if i.MultiFile || !reflect.DeepEqual(i.Files, []File{{Path: []string{"big.bin"}, Length: 100000}}) {
		t.Errorf("files %+v", i.Files)
	}
	if i.PieceLength != DefaultPieceLength(100000) || i.PieceLength != 16384 {
		t.Errorf("piece length %d", i.PieceLength)
	}
	for p := range i.NumPieces() {
		if !i.VerifyPiece(p, data[i.PieceOffset(p):i.PieceOffset(p)+i.PieceSize(p)]) {
			t.Errorf("piece %d wrong", p)
		}
	}
	if bytes.Contains(raw, []byte("creation date")) || bytes.Contains(raw, []byte("announce")) {
		t.Errorf("unset fields written: %q", raw[:80])
	}
}

func TestDefaultPieceLength(t *testing.T) {
	for total, want := range map[int64]int64{1: 16 << 10, 32 << 20: 16 << 10, 512 << 20: 256 << 10, 1 << 50: 16 << 20} {
		if got := DefaultPieceLength(total); got != want {
			t.Errorf("DefaultPieceLength(%d) = %d, want %d", total, got, want)
		}
	}
}

// shortReader holds fewer bytes than the file claims.
type failingReader struct{ err error }

func (r failingReader) ReadAt(p []byte, off int64) (int, error) { return 0, r.err }

func TestCreateErrors(t *testing.T) {
	defer leakcheck.Check(t)()
	ok := func(p ...string) CreateFile {
		return CreateFile{Path: p, Length: 10, Data: testbytes.Reader(1, 10)}
	}
	boom := errors.New("disk on fire")
	for _, tc := range []struct {
		name  string
		opts  CreateOptions
		files []CreateFile
		want  string
		is    error
	}{
		{"no name", CreateOptions{}, []CreateFile{ok("a")}, `metainfo: create: name: unsafe path component ""`, ErrUnsafePath},
		{"bad name", CreateOptions{Name: ".."}, []CreateFile{ok("a")}, `metainfo: create: name: unsafe path component ".."`, ErrUnsafePath},
		{"no files", CreateOptions{Name: "n"}, nil, "metainfo: create: no files", ErrInvalid},
		{"bad path", CreateOptions{Name: "n"}, []CreateFile{ok("a", "..")}, `metainfo: create: files[0].path: unsafe path component ".."`, ErrUnsafePath},
		{"empty path", CreateOptions{Name: "n"}, []CreateFile{ok()}, "metainfo: create: files[0].path: unsafe path: path is empty", ErrUnsafePath},
		{"dup path", CreateOptions{Name: "n"}, []CreateFile{ok("a"), ok("a")}, `same path as files[0]`, ErrInvalid},
		{"single with two", CreateOptions{Name: "n", SingleFile: true}, []CreateFile{ok("a"), ok("b")}, "SingleFile with 2 files", ErrInvalid},
		{"zero total", CreateOptions{Name: "n"}, []CreateFile{{Path: []string{"a"}}}, "total length is zero", ErrInvalid},
		{"negative", CreateOptions{Name: "n"}, []CreateFile{{Path: []string{"a"}, Length: -1}}, "negative length", ErrInvalid},
		{"no data", CreateOptions{Name: "n"}, []CreateFile{{Path: []string{"a"}, Length: 5}}, "no Data", ErrInvalid},
		{"piece length", CreateOptions{Name: "n", PieceLength: MaxPieceLength + 1}, []CreateFile{ok("a")}, "piece length", ErrInvalid},
		{"short data", CreateOptions{Name: "n"}, []CreateFile{{Path: []string{"a"}, Length: 11, Data: testbytes.Reader(1, 10)}}, "files[0]", io.ErrUnexpectedEOF},
		{"read error", CreateOptions{Name: "n"}, []CreateFile{ok("a"), {Path: []string{"b"}, Length: 5, Data: failingReader{boom}}}, "files[1]", boom},
	} {
		_, _, err := Create(tc.opts, tc.files)
		if err == nil || !strings.Contains(err.Error(), tc.want) || !errors.Is(err, tc.is) {
			t.Errorf("%s: error %v, want %q matching %v", tc.name, err, tc.want, tc.is)
		}
	}
}

func TestCreateCanceled(t *testing.T) {
	defer leakcheck.Check(t)()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, _, err := CreateContext(ctx, CreateOptions{Name: "n", PieceLength: 16384},
		[]CreateFile{{Path: []string{"a"}, Length: 1 << 24, Data: testbytes.Reader(1, 1<<24)}})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("got %v, want context.Canceled", err)
	}
}

// BenchmarkCreate512MiB measures hashing a 512 MiB file.
func BenchmarkCreate512MiB(b *testing.B) {
	const size = 512 << 20
	data := bytes.Repeat(testbytes.Bytes(1, 1<<20), 512)
	b.SetBytes(size)
	for b.Loop() {
		if _, _, err := Create(CreateOptions{Name: "big", SingleFile: true},
			[]CreateFile{{Length: size, Data: bytes.NewReader(data)}}); err != nil {
			b.Fatal(err)
		}
	}
}
