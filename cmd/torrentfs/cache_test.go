package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/torrentfs/torrentfs/internal/testbytes"
	"github.com/torrentfs/torrentfs/metainfo"
	"github.com/torrentfs/torrentfs/piececache"
)

// cachedTorrent makes a torrent of 5 pieces of 32 KiB (the last short) and
// stores its info and pieces in the cache at dir; bad lists pieces stored
// with wrong bytes (well-formed, so only SHA-1 finds them).
func cachedTorrent(t *testing.T, dir, name string, seed uint64, bad ...int) *metainfo.MetaInfo {
	t.Helper()
	data := testbytes.Bytes(seed, 4*32<<10+1000)
	_, mi, err := metainfo.Create(metainfo.CreateOptions{Name: name, PieceLength: 32 << 10, SingleFile: true},
		[]metainfo.CreateFile{{Path: []string{name}, Length: int64(len(data)), Data: bytes.NewReader(data)}})
	if err != nil {
		t.Fatal(err)
	}
	c, err := piececache.Open(dir, piececache.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx := context.Background()
	if err := c.PutTorrentInfo(ctx, mi.InfoHash, mi.InfoBytes); err != nil {
		t.Fatal(err)
	}
	for p := range mi.Info.NumPieces() {
		off := mi.Info.PieceOffset(p)
		piece := bytes.Clone(data[off : off+mi.Info.PieceSize(p)])
		for _, b := range bad {
			if b == p {
				piece[100] ^= 1
			}
		}
		if err := c.Put(ctx, mi.InfoHash, p, piece); err != nil {
			t.Fatal(err)
		}
	}
	return mi
}

func TestCacheStats(t *testing.T) {
	dir := t.TempDir()
	a := cachedTorrent(t, dir, "alpha.bin", 1)
	b := cachedTorrent(t, dir, "beta.bin", 2)
	code, out, stderr := runCLI("cache", "stats", "--cache-dir", dir)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, want := range []string{"On disk:", "Pieces:  10,", "in 2 torrent(s)",
		a.InfoHash.String(), "alpha.bin (5 of 5 pieces)", b.InfoHash.String(), "beta.bin"} {
		if !strings.Contains(out, want) {
			t.Errorf("stats output lacks %q:\n%s", want, out)
		}
	}
}

func TestCacheVerifyDropsBadPieces(t *testing.T) {
	dir := t.TempDir()
	mi := cachedTorrent(t, dir, "gamma.bin", 3, 1, 4)
	code, out, stderr := runCLI("cache", "verify", "--cache-dir", dir)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if !strings.Contains(out, "gamma.bin: 5 piece(s) re-hashed with SHA-1, 2 bad (dropped)") {
		t.Errorf("verify output:\n%s", out)
	}
	c, err := piececache.Open(dir, piececache.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	got, _ := c.Pieces(context.Background(), mi.InfoHash)
	if fmt.Sprint(got) != "[0 2 3]" {
		t.Errorf("pieces after verify = %v, want [0 2 3]", got)
	}
}

func TestCacheClear(t *testing.T) {
	dir := t.TempDir()
	a := cachedTorrent(t, dir, "alpha.bin", 1)
	b := cachedTorrent(t, dir, "beta.bin", 2)
	code, out, stderr := runCLI("cache", "clear", "--cache-dir", dir, a.InfoHash.String())
	if code != 0 || !strings.Contains(out, "Dropped 5 piece(s) of "+a.InfoHash.String()) {
		t.Fatalf("clear one: exit %d: %s%s", code, out, stderr)
	}
	_, out, _ = runCLI("cache", "stats", "--cache-dir", dir)
	if strings.Contains(out, a.InfoHash.String()) || !strings.Contains(out, b.InfoHash.String()) {
		t.Errorf("after clearing alpha:\n%s", out)
	}
	code, out, stderr = runCLI("cache", "clear", "--cache-dir", dir)
	if code != 0 || !strings.Contains(out, "Cleared "+dir) {
		t.Fatalf("clear all: exit %d: %s%s", code, out, stderr)
	}
	_, out, _ = runCLI("cache", "stats", "--cache-dir", dir)
	if !strings.Contains(out, "Pieces:  0,") {
		t.Errorf("after clearing everything:\n%s", out)
	}
	// A directory with someone else's files is not wiped.
	os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("mine"), 0o644)
	code, _, stderr = runCLI("cache", "clear", "--cache-dir", dir)
	if code != 1 || !strings.Contains(stderr, "notes.txt") || strings.Count(stderr, "\n") != 1 {
		t.Errorf("clear of a foreign directory: exit %d, %q", code, stderr)
	}
	if _, err := os.Stat(filepath.Join(dir, "notes.txt")); err != nil {
		t.Errorf("the user's file is gone: %v", err)
	}
}

func TestCacheInUse(t *testing.T) {
	dir := t.TempDir()
	c, err := piececache.Open(dir, piececache.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for _, args := range [][]string{{"stats"}, {"verify"}, {"clear"}, {"clear", strings.Repeat("ab", 20)}} {
		code, _, stderr := runCLI(append([]string{"cache", args[0], "--cache-dir", dir}, args[1:]...)...)
		want := fmt.Sprintf("in use by another torrentfs process (PID %d)", os.Getpid())
		if code != 1 || !strings.Contains(stderr, want) || strings.Count(stderr, "\n") != 1 {
			t.Errorf("cache %v on a cache in use: exit %d, %q", args, code, stderr)
		}
	}
}

func TestCacheUsageErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		code int
	}{
		{[]string{"cache"}, 2},
		{[]string{"cache", "frob"}, 2},
		{[]string{"cache", "stats", "extra"}, 2},
		{[]string{"cache", "clear", "--cache-dir", t.TempDir(), "nothex"}, 2},
		{[]string{"cache", "clear", "a", "b"}, 2},
		{[]string{"cache", "verify", "--bogus"}, 2},
		{[]string{"cache", "stats", "--help"}, 0},
		{[]string{"cache", "clear", "--help"}, 0},
		{[]string{"cache", "verify", "--help"}, 0},
		{[]string{"cache", "stats", "--cache-dir", "/no/such/dir"}, 1},
		{[]string{"mount", "--cache-size", "lots", "a", "b"}, 2},
		{[]string{"mount", "--cache-size", "1MiB", "a", "b"}, 2},
		{[]string{"demo", "--cache-size", "-5GB"}, 2},
	} {
		code, _, stderr := runCLI(tc.args...)
		if code != tc.code {
			t.Errorf("torrentfs %s: exit %d, want %d\n%s", strings.Join(tc.args, " "), code, tc.code, stderr)
		}
		if tc.code == 0 && !strings.Contains(stderr, "Example:") {
			t.Errorf("torrentfs %s shows no example", strings.Join(tc.args, " "))
		}
	}
}

// TestMountWipesDamagedCache: a damaged cache makes mount fail with one
// line suggesting --wipe-cache; with it, the cache is usable again.
func TestMountWipesDamagedCache(t *testing.T) {
	dir := t.TempDir()
	cachedTorrent(t, dir, "alpha.bin", 1)
	if err := os.WriteFile(filepath.Join(dir, "MANIFEST"), []byte("garbage"), 0o644); err != nil {
		t.Fatal(err)
	}
	log := (&logLevelFlag{}).logger(&bytes.Buffer{})
	_, err := openCache(sessionConfig{Logger: log, CacheDir: dir})
	if err == nil || !strings.Contains(err.Error(), "--wipe-cache") || !strings.Contains(err.Error(), dir) {
		t.Fatalf("openCache of a damaged cache = %v", err)
	}
	c, err := openCache(sessionConfig{Logger: log, CacheDir: dir, WipeCache: true, CacheSize: 100 << 20})
	if err != nil {
		t.Fatalf("openCache with --wipe-cache: %v", err)
	}
	defer c.Close()
	if st := c.Stats(); st.Pieces != 0 || c.Limit() != 100<<20 {
		t.Errorf("after wiping: %+v, limit %d", st, c.Limit())
	}
}
