package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/torrentfs/torrentfs/internal/testbytes"
	"github.com/torrentfs/torrentfs/metainfo"
)

func TestCacheImport(t *testing.T) {
	dir := t.TempDir()
	data := testbytes.Bytes(9, 4*32<<10+1000) // 5 pieces, the last short
	raw, mi, err := metainfo.Create(metainfo.CreateOptions{Name: "delta.bin", PieceLength: 32 << 10, SingleFile: true},
		[]metainfo.CreateFile{{Path: []string{"delta.bin"}, Length: int64(len(data)), Data: bytes.NewReader(data)}})
	if err != nil {
		t.Fatal(err)
	}
	torrent := filepath.Join(dir, "delta.torrent")
	downloads := filepath.Join(dir, "downloads")
	if err := os.WriteFile(torrent, raw, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(downloads, 0o755); err != nil {
		t.Fatal(err)
	}
	bad := bytes.Clone(data)
	bad[2*32<<10+5] ^= 1 // piece 2 is wrong on disk
	if err := os.WriteFile(filepath.Join(downloads, "delta.bin"), bad, 0o644); err != nil {
		t.Fatal(err)
	}
	cache := filepath.Join(dir, "cache")

	code, out, stderr := runCLI("cache", "import", "--cache-dir", cache, torrent, downloads)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if want := "delta.bin (" + mi.InfoHash.String() + "): 4 piece(s) stored, 0 already held, 0 missing on disk, 1 failed their SHA-1"; !strings.Contains(out, want) {
		t.Errorf("import output lacks %q:\n%s", want, out)
	}
	code, out, stderr = runCLI("cache", "stats", "--cache-dir", cache)
	if code != 0 {
		t.Fatalf("stats: exit %d: %s", code, stderr)
	}
	if !strings.Contains(out, "delta.bin (4 of 5 pieces)") {
		t.Errorf("stats after import:\n%s", out)
	}

	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{torrent}, 2, "needs a .torrent file and the directory"},
		{[]string{"magnet:?xt=urn:btih:" + mi.InfoHash.String(), downloads}, 2, "not a magnet link"},
		{[]string{torrent, filepath.Join(dir, "nope")}, 1, "data directory"},
		{[]string{torrent, torrent}, 1, "is not a directory"},
		{[]string{filepath.Join(dir, "nope.torrent"), downloads}, 1, "nope.torrent"},
	} {
		code, _, stderr := runCLI(append([]string{"cache", "import", "--cache-dir", cache}, c.args...)...)
		if code != c.code || !strings.Contains(stderr, c.want) {
			t.Errorf("cache import %q: exit %d, stderr %q; want exit %d mentioning %q", c.args, code, stderr, c.code, c.want)
		}
	}
}
