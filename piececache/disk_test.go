package piececache

import (
	"context"
	"errors"
	"os/exec"
	"syscall"
	"testing"
	"time"

	"github.com/torrentfs/torrentfs/internal/leakcheck"
)

// smallTmpfs mounts a tmpfs of size bytes on a new directory, or skips the
// test if it cannot (not root).
func smallTmpfs(t *testing.T, size string) string {
	t.Helper()
	dir := t.TempDir()
	if err := syscall.Mount("tmpfs", dir, "tmpfs", 0, "size="+size); err != nil {
		t.Skipf("cannot mount a tmpfs: %v", err)
	}
	t.Cleanup(func() {
		if err := syscall.Unmount(dir, 0); err != nil {
			exec.Command("umount", "-l", dir).Run()
		}
	})
	return dir
}

// TestDiskFull fills a small file system: Put fails with ErrDiskFull and
// then fails fast, stored pieces stay readable, nothing panics and Close
// works.
func TestDiskFull(t *testing.T) {
	defer leakcheck.Check(t)()
	dir := smallTmpfs(t, "96m")
	c, err := Open(dir, Options{valueLogFileSize: 4 << 20})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	const size = 256 << 10
	var failed error
	stored := 0
	for p := 0; p < 600; p++ { // 150 MiB into 96 MiB
		if err := c.Put(ctx, hash(1), p, pieceData(1, p, size)); err != nil {
			failed = err
			break
		}
		stored++
	}
	t.Logf("%d pieces stored, then: %v", stored, failed)
	if !errors.Is(failed, ErrDiskFull) {
		t.Fatalf("Put on a full disk = %v, want ErrDiskFull", failed)
	}
	start := time.Now()
	err = c.Put(ctx, hash(1), 1000, pieceData(1, 1000, size))
	if !errors.Is(err, ErrDiskFull) || time.Since(start) > 50*time.Millisecond {
		t.Errorf("Put right after the failure = %v after %v, want ErrDiskFull at once", err, time.Since(start))
	}
	held, _ := c.Pieces(ctx, hash(1))
	good := 0
	buf := make([]byte, size)
	for _, p := range held {
		n, err := c.ReadAt(ctx, hash(1), p, buf, 0)
		if err != nil {
			continue
		}
		if n != size || string(buf) != string(pieceData(1, p, size)) {
			t.Fatalf("piece %d read back wrong after the disk filled", p)
		}
		good++
	}
	t.Logf("%d of %d held pieces readable after the disk filled", good, len(held))
	if good < stored/2 {
		t.Errorf("only %d of %d stored pieces readable", good, stored)
	}
	if err := c.Close(); err != nil {
		t.Errorf("Close on a full disk: %v", err)
	}
	// Reopening on the full disk works, and serves what was stored.
	c, err = Open(dir, Options{valueLogFileSize: 4 << 20})
	if err != nil {
		t.Fatalf("reopen on the full disk: %v", err)
	}
	defer c.Close()
	if st := c.Stats(); st.Pieces != len(held) {
		t.Errorf("after reopening: %+v, want %d pieces", st, len(held))
	}
	checkRead(t, c, hash(1), 0, pieceData(1, 0, size), 0, size)
	// Space freed by deleting the torrent: Puts succeed again once the
	// fail-fast period is over (DeleteTorrent gives the space back).
	if err := c.DeleteTorrent(ctx, hash(1)); err != nil {
		t.Fatal(err)
	}
	mustPut(t, c, hash(2), 0, pieceData(2, 0, size))
}
