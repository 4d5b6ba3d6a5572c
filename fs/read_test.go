package fs

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// sizesTorrent has files around page and request boundaries.
func sizesTorrent(seed uint64) *fakeTorrent {
	t := &fakeTorrent{seed: seed}
	for i, n := range []int64{0, 1, 4095, 4096, 128<<10 + 1, 1<<20 + 123, 3<<20 + 7} {
		t.files = append(t.files, File{Path: []string{"sizes", fmt.Sprintf("f%d", i)}, Length: n})
	}
	return t
}

func checkWholeFiles(t *testing.T, s *Server, ft *fakeTorrent) {
	t.Helper()
	for i, f := range ft.files {
		p := filepath.Join(append([]string{s.Dir()}, f.Path...)...)
		got, err := os.ReadFile(p)
		if err != nil {
			t.Fatalf("ReadFile %s: %v", p, err)
		}
		if sha256.Sum256(got) != sha256.Sum256(ft.data(i)) {
			t.Fatalf("%s: %d bytes with the wrong sha256, want %d bytes", p, len(got), f.Length)
		}
	}
}

func TestReadWholeFiles(t *testing.T) {
	s := mount(t, Options{})
	ft := sizesTorrent(1)
	add(t, s, ft)
	checkWholeFiles(t, s, ft)
}

func TestReadShortReads(t *testing.T) {
	s := mount(t, Options{})
	ft := sizesTorrent(2)
	ft.chunk = 1000
	add(t, s, ft)
	checkWholeFiles(t, s, ft)
}

func TestReadErrorGivesEIO(t *testing.T) {
	s := mount(t, Options{})
	ft := sizesTorrent(3)
	ft.fail = errors.New("fake: piece unavailable")
	add(t, s, ft)
	_, err := os.ReadFile(filepath.Join(s.Dir(), "sizes", "f5"))
	if !errors.Is(err, syscall.EIO) {
		t.Fatalf("ReadFile of a failing reader: %v, want EIO", err)
	}
}

type errnoError struct{ errno syscall.Errno }

func (e errnoError) Error() string        { return "fake: " + e.errno.Error() }
func (e errnoError) Errno() syscall.Errno { return e.errno }

func TestReadErrorChosenErrno(t *testing.T) {
	s := mount(t, Options{})
	ft := sizesTorrent(4)
	ft.fail = fmt.Errorf("wrapped: %w", errnoError{syscall.ENODATA})
	add(t, s, ft)
	_, err := os.ReadFile(filepath.Join(s.Dir(), "sizes", "f4"))
	if !errors.Is(err, syscall.ENODATA) {
		t.Fatalf("ReadFile: %v, want ENODATA chosen by the error", err)
	}
}

func TestReadEndsEarlyGivesEIO(t *testing.T) {
	s := mount(t, Options{})
	ft := sizesTorrent(5)
	ft.shortEOF = true // the reader claims EOF half-way: never zeros
	add(t, s, ft)
	_, err := os.ReadFile(filepath.Join(s.Dir(), "sizes", "f5"))
	if !errors.Is(err, syscall.EIO) {
		t.Fatalf("ReadFile of a file ending early: %v, want EIO", err)
	}
}

// mmapEnv names the file TestMmapChild maps. The mapping is read in a
// child process: a page fault on the mount from the serving process can
// deadlock with the Go runtime's stop-the-world (the faulting thread never
// reaches a safe point while the FUSE goroutines are stopped).
const mmapEnv = "TORRENTFS_FS_MMAP_FILE"

func TestMmap(t *testing.T) {
	s := mount(t, Options{})
	ft := sizesTorrent(6)
	add(t, s, ft)
	path := filepath.Join(s.Dir(), "sizes", "f6")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestMmapChild$", "-test.v")
	cmd.Env = append(os.Environ(), mmapEnv+"="+path)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("mmap child: %v\n%s", err, out)
	}
	want := fmt.Sprintf("sha256=%x size=%d", sha256.Sum256(ft.data(6)), ft.files[6].Length)
	if !bytes.Contains(out, []byte(want)) {
		t.Fatalf("mmap child printed:\n%s\nwant %s", out, want)
	}
}

// TestMmapChild maps the file named by mmapEnv and prints its sha256.
func TestMmapChild(t *testing.T) {
	path := os.Getenv(mmapEnv)
	if path == "" {
		t.Skip("runs only as TestMmap's child process")
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		t.Fatal(err)
	}
	m, err := syscall.Mmap(int(f.Fd()), 0, int(fi.Size()), syscall.PROT_READ, syscall.MAP_SHARED)
	if err != nil {
		t.Fatalf("mmap: %v", err)
	}
	defer syscall.Munmap(m)
	fmt.Printf("sha256=%x size=%d\n", sha256.Sum256(m), len(m))
}

func TestWritesFailEROFS(t *testing.T) {
	s := mount(t, Options{})
	add(t, s, sizesTorrent(7))
	dir := s.Dir()
	file := filepath.Join(dir, "sizes", "f2")
	checks := []struct {
		what string
		err  error
	}{
		{"open for writing", func() error { f, err := os.OpenFile(file, os.O_WRONLY, 0); f.Close(); return err }()},
		{"truncate", os.Truncate(file, 0)},
		{"create", os.WriteFile(filepath.Join(dir, "new"), []byte("x"), 0o644)},
		{"mkdir", os.Mkdir(filepath.Join(dir, "sizes", "d"), 0o755)},
		{"remove", os.Remove(file)},
		{"rename", os.Rename(file, filepath.Join(dir, "sizes", "g"))},
		{"chmod", os.Chmod(file, 0o644)},
		{"symlink", os.Symlink("f2", filepath.Join(dir, "sizes", "l"))},
	}
	for _, c := range checks {
		if !errors.Is(c.err, syscall.EROFS) {
			t.Errorf("%s: %v, want EROFS", c.what, c.err)
		}
	}
	got, err := os.ReadFile(file)
	if err != nil || len(got) != 4095 {
		t.Fatalf("file after write attempts: %d bytes, %v", len(got), err)
	}
}
