package metainfo

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/torrentfs/torrentfs/internal/testbytes"
)

// These tests check Parse against torrents made by other programs, and
// Create's output against another program's reader. Each skips when its
// program is not installed.

// interopTree writes a small multi-file tree under dir/d and returns the
// contents by slash-separated path below d.
func interopTree(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	files := map[string][]byte{
		"a":       testbytes.Bytes(1, 70001),
		"empty":   {},
		"sub/b":   testbytes.Bytes(2, 5),
		"sub/c":   testbytes.Bytes(3, 40000),
		"z/y/x.t": testbytes.Bytes(4, 16384),
	}
	for p, b := range files {
		full := filepath.Join(dir, "d", filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return files
}

func need(t *testing.T, prog string) string {
	t.Helper()
	p, err := exec.LookPath(prog)
	if err != nil {
		t.Skipf("%s not installed", prog)
	}
	return p
}

func run(t *testing.T, dir, prog string, args ...string) string {
	t.Helper()
	cmd := exec.Command(prog, args...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s %q: %v\n%s", prog, args, err, out)
	}
	return string(out)
}

// checkAgainstTree parses the torrent at path and checks its files and
// every piece hash against the tree's contents.
func checkAgainstTree(t *testing.T, path string, tree map[string][]byte) *MetaInfo {
	t.Helper()
	m, err := ReadFile(path)
	if err != nil {
		t.Fatalf("%s: %v", filepath.Base(path), err)
	}
	if err := layoutProblem(m.Info); err != nil {
		t.Fatal(err)
	}
	var stream []byte
	seen := map[string]bool{}
	for _, f := range m.Info.Files {
		if f.Pad {
			stream = append(stream, make([]byte, f.Length)...)
			continue
		}
		p := strings.Join(f.Path, "/")
		want, ok := tree[p]
		if !ok {
			t.Errorf("unexpected file %q", p)
			continue
		}
		if f.Length != int64(len(want)) {
			t.Errorf("%s: length %d, want %d", p, f.Length, len(want))
		}
		seen[p] = true
		stream = append(stream, want...)
	}
	for p, b := range tree {
		if !seen[p] && len(b) > 0 { // some tools leave out empty files
			t.Errorf("file %q missing", p)
		}
	}
	if int64(len(stream)) != m.Info.TotalLength {
		t.Fatalf("stream %d bytes, total %d", len(stream), m.Info.TotalLength)
	}
	for p := range m.Info.NumPieces() {
		off := m.Info.PieceOffset(p)
		if !m.Info.VerifyPiece(p, stream[off:off+m.Info.PieceSize(p)]) {
			t.Errorf("piece %d does not verify", p)
		}
	}
	return m
}

var showHash = regexp.MustCompile(`(?m)^\s*Hash:\s*([0-9a-f]{40})`)

// transmissionHash returns the info hash transmission-show reports, or ""
// if transmission-show is not installed.
func transmissionHash(t *testing.T, path string) string {
	t.Helper()
	show, err := exec.LookPath("transmission-show")
	if err != nil {
		return ""
	}
	out := run(t, filepath.Dir(path), show, path)
	mm := showHash.FindStringSubmatch(out)
	if mm == nil {
		t.Fatalf("no hash in transmission-show output:\n%s", out)
	}
	return mm[1]
}

func TestInteropMktorrent(t *testing.T) {
	mk := need(t, "mktorrent")
	dir := t.TempDir()
	tree := interopTree(t, dir)
	run(t, dir, mk, "-l", "15", "-a", "http://t/a", "-a", "udp://u:1,udp://v:2", "-w", "http://w/",
		"-c", "hi", "-p", "-o", "x.torrent", "d")
	m := checkAgainstTree(t, filepath.Join(dir, "x.torrent"), tree)
	if m.Info.PieceLength != 1<<15 || !m.Info.Private || m.Comment != "hi" || m.Info.Name != "d" {
		t.Errorf("info %+v, comment %q", m.Info, m.Comment)
	}
	if want := [][]string{{"http://t/a"}, {"udp://u:1", "udp://v:2"}}; !slices.EqualFunc(m.Trackers(), want, slices.Equal) {
		t.Errorf("trackers %q", m.Trackers())
	}
	if !slices.Equal(m.URLList, []string{"http://w/"}) {
		t.Errorf("url-list %q", m.URLList)
	}
	if h := transmissionHash(t, filepath.Join(dir, "x.torrent")); h != "" && h != m.InfoHash.String() {
		t.Errorf("info hash %s, transmission-show says %s", m.InfoHash, h)
	}
}

func TestInteropTransmissionCreate(t *testing.T) {
	tc := need(t, "transmission-create")
	dir := t.TempDir()
	tree := interopTree(t, dir)
	run(t, dir, tc, "-s", "16", "-t", "http://t/a", "-o", "y.torrent", "d")
	m := checkAgainstTree(t, filepath.Join(dir, "y.torrent"), tree)
	if h := transmissionHash(t, filepath.Join(dir, "y.torrent")); h != "" && h != m.InfoHash.String() {
		t.Errorf("info hash %s, transmission-show says %s", m.InfoHash, h)
	}
	// A single file.
	run(t, dir, tc, "-s", "16", "-o", "single.torrent", filepath.Join("d", "a"))
	m = checkAgainstTree(t, filepath.Join(dir, "single.torrent"), map[string][]byte{"a": tree["a"]})
	if m.Info.MultiFile || m.Info.Name != "a" {
		t.Errorf("single file: %+v", m.Info)
	}
}

// libtorrent 2 writes hybrid v1+v2 torrents with BEP 47 padding files.
const libtorrentScript = `
import sys, libtorrent as lt
fs = lt.file_storage()
lt.add_files(fs, sys.argv[1])
ct = lt.create_torrent(fs, 16384)
ct.add_tracker("http://t/a", 0)
lt.set_piece_hashes(ct, sys.argv[2])
open(sys.argv[3], "wb").write(lt.bencode(ct.generate()))
print(str(lt.torrent_info(sys.argv[3]).info_hashes().v1))
`

func TestInteropLibtorrentHybrid(t *testing.T) {
	py := "/usr/bin/python3"
	if _, err := os.Stat(py); err != nil {
		t.Skip("no system python3")
	}
	if err := exec.Command(py, "-c", "import libtorrent").Run(); err != nil {
		t.Skip("python3-libtorrent not installed")
	}
	dir := t.TempDir()
	tree := interopTree(t, dir)
	out := run(t, dir, py, "-c", libtorrentScript, "d", dir, "h.torrent")
	m := checkAgainstTree(t, filepath.Join(dir, "h.torrent"), tree)
	pads := 0
	for _, f := range m.Info.Files {
		if f.Pad {
			pads++
		}
	}
	if pads == 0 {
		t.Error("expected padding files in a libtorrent 2 torrent")
	}
	raw, err := os.ReadFile(filepath.Join(dir, "h.torrent"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(raw, []byte("file tree")) {
		t.Log("note: torrent is not hybrid")
	}
	if got := strings.TrimSpace(out); got != m.InfoHash.String() {
		t.Errorf("info hash %s, libtorrent says %s", m.InfoHash, got)
	}
}

func TestInteropCreateReadByTransmission(t *testing.T) {
	need(t, "transmission-show")
	dir := t.TempDir()
	tree := interopTree(t, dir)
	var files []CreateFile
	var names []string
	for p := range tree {
		names = append(names, p)
	}
	slices.Sort(names)
	for _, p := range names {
		files = append(files, CreateFile{Path: strings.Split(p, "/"), Length: int64(len(tree[p])), Data: bytes.NewReader(tree[p])})
	}
	raw, m, err := Create(CreateOptions{Name: "d", PieceLength: 32768, Announce: "http://t/a"}, files)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "ours.torrent")
	if err := os.WriteFile(path, raw, 0o644); err != nil {
		t.Fatal(err)
	}
	if h := transmissionHash(t, path); h != m.InfoHash.String() {
		t.Errorf("info hash %s, transmission-show says %s", m.InfoHash, h)
	}
	if mk, err := exec.LookPath("mktorrent"); err == nil {
		// mktorrent hashes the same tree in the same (sorted) order, so with
		// the same piece length and no extras the info dictionaries match
		// except for keys mktorrent does not write.
		run(t, dir, mk, "-l", "15", "-a", "http://t/a", "-d", "-o", "mk.torrent", "d")
		other, err := ReadFile(filepath.Join(dir, "mk.torrent"))
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(other.Info.Pieces, m.Info.Pieces) {
			t.Error("piece hashes differ from mktorrent's for the same files")
		}
	}
}
