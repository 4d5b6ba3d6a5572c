package interop

import (
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"math/bits"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/torrentfs/torrentfs/internal/testbytes"
)

// DataFile is one file of a test torrent. Its bytes are
// testbytes.Reader(Seed, Size).
type DataFile struct {
	Path string // slash-separated, relative to the torrent's top-level folder
	Size int64
	Seed uint64
}

// TorrentSpec describes a torrent for MakeTorrent.
type TorrentSpec struct {
	Name string // top-level folder (multi-file) or file name (single-file)
	// SingleFile makes a single-file torrent of Files[0] named Name.
	SingleFile bool
	Files      []DataFile
	PieceLen   int64 // a power of two, at least 16 KiB (mktorrent's rule)
}

// Torrent is a .torrent made by mktorrent over deterministic data.
type Torrent struct {
	Path     string // the .torrent file
	DataDir  string // the directory that holds Name (the save path for seeders)
	Name     string
	InfoHash [20]byte
	Spec     TorrentSpec
}

// FilePath returns where file i of the torrent lives relative to a root
// that holds the torrent's top-level entry (a seeder's data dir or a mount).
func (tt *Torrent) FilePath(root string, i int) string {
	if tt.Spec.SingleFile {
		return filepath.Join(root, tt.Name)
	}
	return filepath.Join(root, tt.Name, filepath.FromSlash(tt.Spec.Files[i].Path))
}

// SHA256 is the expected SHA-256 of file i's bytes.
func (tt *Torrent) SHA256(i int) string {
	f := tt.Spec.Files[i]
	h := sha256.New()
	if _, err := io.Copy(h, testbytes.Reader(f.Seed, f.Size)); err != nil {
		panic(err) // testbytes.Reader never fails
	}
	return hex.EncodeToString(h.Sum(nil))
}

// MakeTorrent writes the spec's files under a temp dir and builds the
// .torrent with mktorrent, announcing to announce.
func MakeTorrent(t testing.TB, spec TorrentSpec, announce string) *Torrent {
	t.Helper()
	mk := RequireTool(t, "mktorrent", "mktorrent")
	if spec.SingleFile && len(spec.Files) != 1 {
		t.Fatalf("interop: single-file torrent needs exactly one file, got %d", len(spec.Files))
	}
	if spec.PieceLen < 16<<10 || bits.OnesCount64(uint64(spec.PieceLen)) != 1 {
		t.Fatalf("interop: piece length %d is not a power of two >= 16 KiB", spec.PieceLen)
	}
	dir := t.TempDir()
	dataDir := filepath.Join(dir, "data")
	tt := &Torrent{Path: filepath.Join(dir, spec.Name+".torrent"), DataDir: dataDir, Name: spec.Name, Spec: spec}
	for i, f := range spec.Files {
		p := tt.FilePath(dataDir, i)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		w, err := os.Create(p)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := io.Copy(w, testbytes.Reader(f.Seed, f.Size)); err != nil {
			t.Fatal(err)
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
	}
	args := []string{
		"-a", announce,
		"-l", fmt.Sprint(bits.TrailingZeros64(uint64(spec.PieceLen))),
		"-n", spec.Name,
		"-t", "1",
		"-c", "torrentfs interop test",
		"-o", tt.Path,
		filepath.Join(dataDir, spec.Name),
	}
	if out, err := exec.Command(mk, args...).CombinedOutput(); err != nil {
		t.Fatalf("interop: mktorrent %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	raw, err := os.ReadFile(tt.Path)
	if err != nil {
		t.Fatal(err)
	}
	info, err := InfoBytes(raw)
	if err != nil {
		t.Fatalf("interop: mktorrent wrote %s: %v", tt.Path, err)
	}
	tt.InfoHash = sha1.Sum(info)
	return tt
}

// InfoBytes returns the raw bytes of the "info" value of a bencoded
// torrent. It is a deliberately small, independent bencode walker, so that
// the harness does not depend on the metainfo package it helps to test.
func InfoBytes(torrent []byte) ([]byte, error) {
	if len(torrent) == 0 || torrent[0] != 'd' {
		return nil, fmt.Errorf("interop: torrent is not a bencoded dictionary")
	}
	pos := 1
	for pos < len(torrent) && torrent[pos] != 'e' {
		keyEnd, err := skipValue(torrent, pos, 0)
		if err != nil {
			return nil, err
		}
		key := torrent[pos:keyEnd]
		valEnd, err := skipValue(torrent, keyEnd, 0)
		if err != nil {
			return nil, err
		}
		if string(key) == "4:info" {
			return torrent[keyEnd:valEnd], nil
		}
		pos = valEnd
	}
	return nil, fmt.Errorf("interop: torrent has no info dictionary")
}

// skipValue returns the offset just past the bencoded value at pos.
func skipValue(b []byte, pos, depth int) (int, error) {
	if depth > 64 {
		return 0, fmt.Errorf("interop: bencode nested too deeply at %d", pos)
	}
	if pos >= len(b) {
		return 0, fmt.Errorf("interop: bencode truncated at %d", pos)
	}
	switch c := b[pos]; {
	case c == 'i':
		end := pos + 1
		for end < len(b) && b[end] != 'e' {
			end++
		}
		if end >= len(b) {
			return 0, fmt.Errorf("interop: unterminated integer at %d", pos)
		}
		return end + 1, nil
	case c == 'l' || c == 'd':
		pos++
		for pos < len(b) && b[pos] != 'e' {
			var err error
			if pos, err = skipValue(b, pos, depth+1); err != nil {
				return 0, err
			}
		}
		if pos >= len(b) {
			return 0, fmt.Errorf("interop: unterminated list or dictionary")
		}
		return pos + 1, nil
	case c >= '0' && c <= '9':
		n, i := 0, pos
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			n = n*10 + int(b[i]-'0')
			if n > len(b) {
				return 0, fmt.Errorf("interop: string length too large at %d", pos)
			}
			i++
		}
		if i >= len(b) || b[i] != ':' || i+1+n > len(b) {
			return 0, fmt.Errorf("interop: bad string at %d", pos)
		}
		return i + 1 + n, nil
	default:
		return 0, fmt.Errorf("interop: unexpected byte %q at %d", c, pos)
	}
}
