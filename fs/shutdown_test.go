package fs

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/torrentfs/torrentfs/internal/leakcheck"
)

// mountRaw is mount for tests that unmount themselves; the cleanup's
// second Unmount is then a no-op.
func mountRaw(t *testing.T, opts Options) *Server { return mount(t, opts) }

func blockedTorrent() *fakeTorrent {
	return &fakeTorrent{
		seed:    9,
		files:   []File{{Path: []string{"slow.bin"}, Length: 4 << 20}},
		block:   make(chan struct{}), // never closed: pieces never arrive
		started: make(chan struct{}, 1),
	}
}

func waitStarted(t *testing.T, ft *fakeTorrent) {
	t.Helper()
	select {
	case <-ft.started:
	case <-time.After(5 * time.Second):
		t.Fatal("read never reached ReadAt")
	}
}

func unmountWithin(t *testing.T, s *Server, limit time.Duration) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	start := time.Now()
	if err := s.Unmount(ctx); err != nil {
		t.Fatalf("Unmount: %v", err)
	}
	if d := time.Since(start); d > limit {
		t.Errorf("Unmount took %v, want under %v", d, limit)
	}
	s.Wait()
}

// A read blocked in ReadAt must not keep Unmount from finishing; the
// reader gets an error and every FileReader is closed.
func TestUnmountWhileReadBlocked(t *testing.T) {
	defer leakcheck.Check(t)()
	s := mountRaw(t, Options{})
	ft := blockedTorrent()
	add(t, s, ft)
	errc := make(chan error, 1)
	go func() {
		_, err := os.ReadFile(filepath.Join(s.Dir(), "slow.bin"))
		errc <- err
	}()
	waitStarted(t, ft)
	unmountWithin(t, s, 2*time.Second)
	select {
	case err := <-errc:
		if err == nil {
			t.Fatal("blocked read succeeded after unmount")
		}
		t.Logf("blocked read ended with: %v", err)
	case <-time.After(5 * time.Second):
		t.Fatal("blocked read still blocked after unmount")
	}
	if n := ft.open(); n != 0 {
		t.Errorf("%d readers still open after unmount", n)
	}
	if ft.waiting.Load() != 0 {
		t.Errorf("%d ReadAt calls still blocked", ft.waiting.Load())
	}
}

// A file held open (and read, blocked) during Unmount makes the mount busy:
// Unmount detaches it lazily, aborts the connection and still returns.
func TestUnmountWithFileHeldOpen(t *testing.T) {
	defer leakcheck.Check(t)()
	s := mountRaw(t, Options{})
	ft := blockedTorrent()
	add(t, s, ft)
	f, err := os.Open(filepath.Join(s.Dir(), "slow.bin"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	errc := make(chan error, 1)
	go func() {
		_, err := f.ReadAt(make([]byte, 4096), 1<<20)
		errc <- err
	}()
	waitStarted(t, ft)
	unmountWithin(t, s, 3*time.Second)
	select {
	case err := <-errc:
		if err == nil {
			t.Fatal("blocked read succeeded after unmount")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("blocked read still blocked after unmount")
	}
	if _, err := f.ReadAt(make([]byte, 10), 0); err == nil {
		t.Error("read on the old mount succeeded after unmount")
	}
	if n := ft.open(); n != 0 {
		t.Errorf("%d readers still open after unmount", n)
	}
	if err := s.AddTorrent(singleTorrent()); !errors.Is(err, ErrUnmounted) {
		t.Errorf("AddTorrent after unmount: %v, want ErrUnmounted", err)
	}
}

// An unmount from outside ends the server: Wait returns, readers close.
func TestExternalUnmount(t *testing.T) {
	defer leakcheck.Check(t)()
	s := mountRaw(t, Options{})
	ft := sizesTorrent(11)
	add(t, s, ft)
	f, err := os.Open(filepath.Join(s.Dir(), "sizes", "f3"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Read(make([]byte, 100)); err != nil {
		t.Fatal(err)
	}
	f.Close()
	if err := syscall.Unmount(s.Dir(), 0); err != nil {
		t.Fatalf("umount %s: %v", s.Dir(), err)
	}
	done := make(chan struct{})
	go func() { s.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Wait did not return after an external umount")
	}
	if n := ft.open(); n != 0 {
		t.Errorf("%d readers still open after unmount", n)
	}
	if err := s.Unmount(context.Background()); err != nil {
		t.Errorf("Unmount after external umount: %v", err)
	}
}
