package fs

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/torrentfs/torrentfs/internal/leakcheck"
)

func TestMain(m *testing.M) { leakcheck.Main(m) }

// mount mounts a fresh server for the test and unmounts it at cleanup.
func mount(t *testing.T, opts Options) *Server {
	t.Helper()
	if _, err := os.Stat("/dev/fuse"); err != nil {
		t.Skip("fs: /dev/fuse is not available: ", err)
	}
	s, err := Mount(t.TempDir(), opts)
	if err != nil {
		t.Fatalf("Mount: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := s.Unmount(ctx); err != nil {
			t.Errorf("Unmount: %v", err)
		}
	})
	return s
}

// add adds t to s, failing the test on error.
func add(tb testing.TB, s *Server, t Torrent) {
	tb.Helper()
	if err := s.AddTorrent(t); err != nil {
		tb.Fatalf("AddTorrent: %v", err)
	}
}
