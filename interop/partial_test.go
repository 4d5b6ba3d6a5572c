package interop

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/torrentfs/torrentfs/internal/testbytes"
)

// TestMountFromPartialSeeders: two libtorrent peers that each lack a
// different file; neither can serve the whole torrent, so every byte read
// through the mount proves torrentfs combined pieces from both. Reads seek
// first (preads across piece boundaries and at the end of file), then read
// every file concurrently. The missing
// files (the first and the last) are more than a piece apart, so together
// the two peers hold every piece.
func TestMountFromPartialSeeders(t *testing.T) {
	SkipIfShort(t)
	bin := BuildTorrentFS(t)
	RequireFUSE(t)
	port := FreePort(t, "127.0.0.1")
	spec := multiFileSpec()
	first, last := 0, len(spec.Files)-1
	tt := MakeTorrent(t, spec, OpentrackerURL(port))
	ot := StartOpentracker(t, port, tt.InfoHash)

	_, pa := StartLibtorrentSeederOpts(t, tt, LibtorrentIP, SeederOptions{DataDir: PartialDataDir(t, tt, first), Partial: true})
	_, pb := StartLibtorrentSeederOpts(t, tt, LibtorrentIP2, SeederOptions{DataDir: PartialDataDir(t, tt, last), Partial: true})
	for _, p := range []*Proc{pa, pb} {
		var have, total int
		for _, line := range strings.Split(p.Stdout(), "\n") {
			if _, err := fmt.Sscanf(line, "pieces %d/%d", &have, &total); err == nil {
				break
			}
		}
		if total == 0 || have == 0 || have >= total {
			t.Fatalf("a partial seeder should hold some but not all pieces; it printed:\n%s", p.Stdout())
		}
	}
	ot.WaitPeers(t, tt.InfoHash, 2, 15*time.Second)

	m := StartMount(t, bin, tt)
	m.WaitFiles(t, tt, 60*time.Second)
	// Seeks first, as a media player does: the end of the last file, a
	// span across a piece boundary, the middle of the first file.
	pl := spec.PieceLen
	for _, r := range []struct {
		file int
		off  int64
		n    int
	}{
		{last, spec.Files[last].Size - 1000, 4096}, // short read at EOF
		{first, pl - 100, 200},
		{first, pl + 12345, 3 * int(pl)}, // runs past EOF
		{last, 0, 1},
	} {
		got, err := ReadAtTimeout(tt.FilePath(m.Dir, r.file), r.n, r.off, 60*time.Second)
		if err != nil {
			t.Fatalf("pread %d bytes at %d of %s: %v\nstderr:\n%s", r.n, r.off, spec.Files[r.file].Path, err, tail(m.Proc.Stderr(), 16<<10))
		}
		f := spec.Files[r.file]
		want := min(int64(r.n), f.Size-r.off)
		exp := make([]byte, want)
		_, _ = testbytes.Reader(f.Seed, f.Size).ReadAt(exp, r.off) // exp is within the file
		if !bytes.Equal(got, exp) {
			t.Errorf("pread %d bytes at %d of %s: got %d bytes that differ from the source (want %d)", r.n, r.off, f.Path, len(got), want)
		}
	}
	checkMountedFilesConcurrently(t, m, tt)
	stopAndCheck(t, m)
}

// checkMountedFilesConcurrently reads every file through the mount at the
// same time and compares each with its source.
func checkMountedFilesConcurrently(t *testing.T, m *Mount, tt *Torrent) {
	t.Helper()
	errs := make(chan error, len(tt.Spec.Files))
	for i, f := range tt.Spec.Files {
		go func() {
			data, err := ReadFileTimeout(tt.FilePath(m.Dir, i), 120*time.Second)
			if err != nil {
				errs <- err
				return
			}
			sum := sha256.Sum256(data)
			if got, want := hex.EncodeToString(sum[:]), tt.SHA256(i); got != want {
				errs <- fmt.Errorf("%s: read %d bytes with sha256 %s, want %d bytes with sha256 %s", f.Path, len(data), got, f.Size, want)
				return
			}
			errs <- nil
		}()
	}
	for range tt.Spec.Files {
		if err := <-errs; err != nil {
			t.Errorf("concurrent read: %v", err)
		}
	}
	if t.Failed() {
		t.Logf("torrentfs stderr:\n%s", tail(m.Proc.Stderr(), 16<<10))
	}
}
