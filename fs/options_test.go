package fs

import (
	"bytes"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
)

func bdiReadAhead(t *testing.T, s *Server) string {
	t.Helper()
	var st syscall.Stat_t
	if err := syscall.Stat(s.Dir(), &st); err != nil {
		t.Fatal(err)
	}
	major, minor := devMajorMinor(st.Dev)
	b, err := os.ReadFile(fmt.Sprintf("/sys/class/bdi/%d:%d/read_ahead_kb", major, minor))
	if err != nil {
		t.Skipf("no bdi for the mount: %v", err)
	}
	return strings.TrimSpace(string(b))
}

// The mount's read-ahead is raised so that sequential reads arrive in
// large requests, and the mount is read-only with our names.
func TestMountSetup(t *testing.T) {
	var logs bytes.Buffer
	var mu sync.Mutex
	logger := slog.New(slog.NewTextHandler(lockedWriter{&mu, &logs}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	s := mount(t, Options{Logger: logger, FsName: "demo", Debug: true})
	if got := bdiReadAhead(t, s); got != "1024" {
		t.Errorf("read_ahead_kb = %s, want 1024", got)
	}
	ft := sizesTorrent(31)
	add(t, s, ft)
	if _, err := os.ReadFile(filepath.Join(s.Dir(), "sizes", "f6")); err != nil {
		t.Fatal(err)
	}
	t.Logf("largest read request: %d KiB", ft.maxLen.Load()>>10)
	if ft.maxLen.Load() <= 128<<10 {
		t.Errorf("largest read request %d bytes, want more than 128 KiB", ft.maxLen.Load())
	}
	mu.Lock()
	logged := logs.String()
	mu.Unlock()
	for _, want := range []string{"fs: mounted", "READ"} { // our record, go-fuse's debug trace
		if !strings.Contains(logged, want) {
			t.Errorf("log lacks %q", want)
		}
	}
	mounts, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(mounts), "\n") {
		if f := strings.Fields(line); len(f) > 9 && f[4] == s.Dir() {
			if !strings.HasPrefix(f[5], "ro,") || f[len(f)-3] != "fuse.torrentfs" || f[len(f)-2] != "demo" {
				t.Errorf("mountinfo: %s", line)
			}
			return
		}
	}
	t.Errorf("mount %s not in /proc/self/mountinfo", s.Dir())
}

func TestMountReadAheadUntouched(t *testing.T) {
	s := mount(t, Options{ReadAheadKB: -1})
	if got := bdiReadAhead(t, s); got == "1024" {
		t.Errorf("read_ahead_kb = %s with ReadAheadKB -1, want the kernel default", got)
	}
}

type lockedWriter struct {
	mu *sync.Mutex
	b  *bytes.Buffer
}

func (w lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

// Adding torrents while others list and read the mount is safe.
func TestAddTorrentConcurrently(t *testing.T) {
	s := mount(t, Options{})
	var wg sync.WaitGroup
	torrents := make([]*fakeTorrent, 8)
	for i := range torrents {
		torrents[i] = &fakeTorrent{seed: uint64(40 + i), files: []File{
			{Path: []string{fmt.Sprintf("t%d", i), "x", "data"}, Length: 70000},
		}}
	}
	for i, ft := range torrents {
		wg.Add(2)
		go func() {
			defer wg.Done()
			if err := s.AddTorrent(ft); err != nil {
				t.Errorf("AddTorrent %d: %v", i, err)
			}
		}()
		go func() {
			defer wg.Done()
			if _, err := os.ReadDir(s.Dir()); err != nil {
				t.Errorf("ReadDir: %v", err)
			}
		}()
	}
	wg.Wait()
	for i, ft := range torrents {
		wg.Add(1)
		go func() {
			defer wg.Done()
			got, err := os.ReadFile(filepath.Join(s.Dir(), fmt.Sprintf("t%d", i), "x", "data"))
			if err != nil || !bytes.Equal(got, ft.data(0)) {
				t.Errorf("torrent %d: read %d bytes, %v", i, len(got), err)
			}
		}()
	}
	wg.Wait()
	entries, err := os.ReadDir(s.Dir())
	if err != nil || len(entries) != len(torrents) {
		t.Fatalf("root has %d entries (%v), want %d", len(entries), err, len(torrents))
	}
}
