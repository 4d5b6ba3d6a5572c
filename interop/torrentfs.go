package interop

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// ModuleRoot is the root of the torrentfs module (the parent of interop).
func ModuleRoot() string { return filepath.Dir(SourceDir()) }

// BuildTorrentFS builds cmd/torrentfs (with -race when the tests run with
// -race) and returns the path of a private copy of the binary in t's temp
// dir. It skips t with "waiting for cmd/torrentfs" if the command does not
// build yet.
//
// The build goes to a per-user cache directory under a file lock, so that
// an up-to-date binary is not linked again (go build -o skips the link when
// the output's build ID matches): about 1 s instead of 5 s per test.
func BuildTorrentFS(t testing.TB) string {
	t.Helper()
	cacheRoot, err := os.UserCacheDir()
	if err != nil {
		cacheRoot = os.TempDir()
	}
	dir := filepath.Join(cacheRoot, "torrentfs-interop")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatalf("interop: %v", err)
	}
	name := "torrentfs"
	args := []string{"build"}
	if raceEnabled {
		name += "-race"
		args = append(args, "-race")
	}
	built := filepath.Join(dir, name)
	args = append(args, "-o", built, "./cmd/torrentfs")

	lock, err := os.OpenFile(built+".lock", os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		t.Fatalf("interop: %v", err)
	}
	defer lock.Close() // also releases the lock
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		t.Fatalf("interop: lock %s: %v", lock.Name(), err)
	}
	goBin, err := exec.LookPath("go")
	if err != nil {
		goBin = "/usr/local/go/bin/go" // where CI installs it
	}
	cmd := exec.Command(goBin, args...)
	cmd.Dir = ModuleRoot()
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Skipf("waiting for cmd/torrentfs: go %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	// A private copy, so that another test process rebuilding the shared
	// one cannot pull it from under us.
	bin := filepath.Join(t.TempDir(), "torrentfs")
	if err := copyFile(bin, built, 0o755); err != nil {
		t.Fatalf("interop: %v", err)
	}
	return bin
}

func copyFile(dst, src string, mode os.FileMode) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, mode)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// Mounted reports whether dir is a mount point, from /proc/self/mountinfo.
func Mounted(dir string) (bool, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return false, err
	}
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return false, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) > 4 && unescapeMountinfo(fields[4]) == abs {
			return true, nil
		}
	}
	return false, sc.Err()
}

// unescapeMountinfo undoes the octal escapes (\040 for space and so on)
// that the kernel uses in /proc/self/mountinfo.
func unescapeMountinfo(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			var c byte
			if _, err := fmt.Sscanf(s[i+1:i+4], "%03o", &c); err == nil {
				b.WriteByte(c)
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// EnsureUnmounted unmounts dir if it is still mounted: a normal unmount
// first, then a lazy one (umount -l), which also clears a mount whose
// server died ("transport endpoint is not connected").
func EnsureUnmounted(t testing.TB, dir string) {
	t.Helper()
	for _, try := range []func() error{
		func() error { return syscall.Unmount(dir, 0) },
		func() error { return syscall.Unmount(dir, syscall.MNT_DETACH) },
		func() error { return exec.Command("umount", "-l", dir).Run() },
		func() error { return exec.Command("fusermount3", "-u", "-z", dir).Run() },
	} {
		m, err := Mounted(dir)
		if err != nil {
			t.Errorf("interop: reading mountinfo: %v", err)
			return
		}
		if !m {
			return
		}
		if err := try(); err != nil {
			t.Logf("interop: unmounting %s: %v", dir, err)
		}
	}
	if m, _ := Mounted(dir); m {
		t.Errorf("interop: %s is still mounted after every unmount attempt", dir)
	}
}

// Mount is a running `torrentfs mount`.
type Mount struct {
	Dir      string // the mount point
	CacheDir string
	Proc     *Proc
}

// StartMount runs `torrentfs mount --cache-dir DIR --listen 127.0.0.1:0
// --log-level debug TORRENT MNT`. Cleanup stops the process and makes sure
// the mount point is unmounted.
func StartMount(t testing.TB, bin string, tt *Torrent, extraArgs ...string) *Mount {
	t.Helper()
	return StartMountCache(t, bin, tt, filepath.Join(t.TempDir(), "cache"), extraArgs...)
}

// StartMountCache is StartMount with a given cache directory, to mount
// again over a cache an earlier mount filled.
func StartMountCache(t testing.TB, bin string, tt *Torrent, cacheDir string, extraArgs ...string) *Mount {
	t.Helper()
	RequireFUSE(t)
	m := &Mount{Dir: filepath.Join(t.TempDir(), "mnt"), CacheDir: cacheDir}
	if err := os.Mkdir(m.Dir, 0o755); err != nil {
		t.Fatal(err)
	}
	// Registered before StartProc so that it runs after the process is
	// stopped (cleanups run last-in, first-out).
	t.Cleanup(func() { EnsureUnmounted(t, m.Dir) })
	args := append([]string{"mount", "--cache-dir", m.CacheDir, "--listen", "127.0.0.1:0", "--log-level", "debug"}, extraArgs...)
	args = append(args, tt.Path, m.Dir)
	m.Proc = StartProc(t, ProcOptions{StopGrace: 15 * time.Second}, bin, args...)
	return m
}

// WaitFiles waits until every file of tt shows up in the mount with its
// size, failing t with the process's stderr on timeout or exit.
func (m *Mount) WaitFiles(t testing.TB, tt *Torrent, timeout time.Duration) {
	t.Helper()
	start := time.Now()
	deadline := start.Add(timeout)
	for {
		var missing error
		for i, f := range tt.Spec.Files {
			p := tt.FilePath(m.Dir, i)
			fi, err := os.Stat(p)
			if err != nil {
				missing = err
				break
			}
			if fi.Size() != f.Size || !fi.Mode().IsRegular() {
				missing = fmt.Errorf("%s: size %d mode %v, want size %d regular", p, fi.Size(), fi.Mode(), f.Size)
				break
			}
		}
		if missing == nil {
			t.Logf("interop: the mount showed all %d files after %v", len(tt.Spec.Files), time.Since(start))
			return
		}
		if m.Proc.Exited() {
			t.Fatalf("interop: torrentfs exited before the mount showed the files (%v)\nstderr:\n%s", missing, tail(m.Proc.Stderr(), 16<<10))
		}
		if time.Now().After(deadline) {
			t.Fatalf("interop: mount did not show the files within %v: %v\nstderr:\n%s", timeout, missing, tail(m.Proc.Stderr(), 16<<10))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// ErrReadTimeout is returned by ReadFileTimeout when the read is still
// blocked at the deadline.
var ErrReadTimeout = errors.New("interop: read timed out")

// ReadFileTimeout is os.ReadFile bounded by timeout. A read blocked in the
// kernel cannot be cancelled; its goroutine ends when the mount's server is
// killed or the mount is detached at cleanup.
func ReadFileTimeout(path string, timeout time.Duration) ([]byte, error) {
	type result struct {
		b   []byte
		err error
	}
	ch := make(chan result, 1)
	go func() {
		b, err := os.ReadFile(path)
		ch <- result{b, err}
	}()
	select {
	case r := <-ch:
		return r.b, r.err
	case <-time.After(timeout):
		return nil, fmt.Errorf("%w: %s after %v", ErrReadTimeout, path, timeout)
	}
}

// Stop sends SIGTERM and returns the exit code, failing t if the process
// does not exit within timeout.
func (m *Mount) Stop(t testing.TB, timeout time.Duration) int {
	t.Helper()
	if err := m.Proc.Signal(syscall.SIGTERM); err != nil && !m.Proc.Exited() {
		t.Fatalf("interop: SIGTERM torrentfs: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	code, err := m.Proc.Wait(ctx)
	if errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("interop: torrentfs did not exit within %v of SIGTERM\nstderr:\n%s", timeout, tail(m.Proc.Stderr(), 16<<10))
	}
	return code
}

// ReadAtTimeout reads len(p) bytes at off from the file at path (open,
// pread, close), bounded by timeout like ReadFileTimeout. It returns the
// bytes read.
func ReadAtTimeout(path string, n int, off int64, timeout time.Duration) ([]byte, error) {
	type result struct {
		b   []byte
		err error
	}
	ch := make(chan result, 1)
	go func() {
		f, err := os.Open(path)
		if err != nil {
			ch <- result{nil, err}
			return
		}
		defer f.Close()
		b := make([]byte, n)
		k, err := f.ReadAt(b, off)
		if errors.Is(err, io.EOF) {
			err = nil
		}
		ch <- result{b[:k], err}
	}()
	select {
	case r := <-ch:
		return r.b, r.err
	case <-time.After(timeout):
		return nil, fmt.Errorf("%w: %d bytes at %d of %s after %v", ErrReadTimeout, n, off, path, timeout)
	}
}
