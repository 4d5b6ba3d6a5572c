package fs

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"time"
)

const (
	// busyRetries and busyDelay: how long a plain unmount is retried while
	// the kernel still finishes the reads we just failed, before falling
	// back to a lazy unmount.
	busyRetries = 5
	busyDelay   = 20 * time.Millisecond
	// abortGrace is how long to wait for the FUSE loops after aborting the
	// connection.
	abortGrace = 5 * time.Second
)

// Unmount fails every read in flight (EIO), unmounts, and waits until the
// loops have ended and every FileReader is closed. If the mount stays busy
// (a process holds a file open) it is detached lazily (MNT_DETACH) and its
// FUSE connection aborted, so later access there fails instead of
// hanging. If ctx ends first, the connection is aborted too. Unmount after an
// unmount from outside returns nil.
func (s *Server) Unmount(ctx context.Context) error {
	s.reg.failReads()
	select {
	case <-s.done:
		return nil
	default:
	}
	if err := s.unmount(ctx); err != nil {
		return err
	}
	select {
	case <-s.done:
		return nil
	case <-ctx.Done():
	}
	s.log.Warn("fs: unmount did not finish in time; aborting the FUSE connection", "dir", s.dir, "err", ctx.Err())
	s.abort()
	if !s.waitDone(abortGrace) {
		return fmt.Errorf("fs: unmount %s: file system still busy after abort: %w", s.dir, ctx.Err())
	}
	return nil
}

// unmount detaches the mount point: umount2(2) as root, with a lazy
// detach and connection abort if it stays busy; fusermount otherwise.
func (s *Server) unmount(ctx context.Context) error {
	if !s.asRoot {
		return s.fusermount(ctx)
	}
	for try := 0; ; try++ {
		err := syscall.Unmount(s.dir, 0)
		switch {
		case err == nil:
			return nil
		case errors.Is(err, syscall.EINVAL):
			return nil // no longer mounted: unmounted from outside meanwhile
		case !errors.Is(err, syscall.EBUSY):
			return fmt.Errorf("fs: unmount %s: %w", s.dir, err)
		}
		if try == busyRetries {
			break
		}
		t := time.NewTimer(busyDelay)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			try = busyRetries - 1
		}
	}
	s.log.Debug("fs: mount busy, detaching lazily", "dir", s.dir)
	if err := syscall.Unmount(s.dir, syscall.MNT_DETACH); err != nil && !errors.Is(err, syscall.EINVAL) {
		return fmt.Errorf("fs: lazy unmount %s: %w", s.dir, err)
	}
	// Open files keep a detached mount alive; every read fails anyway, so
	// end the connection now rather than wait for them.
	s.abort()
	return nil
}

// fusermount unmounts as a non-root user, lazily if the mount is busy.
func (s *Server) fusermount(ctx context.Context) error {
	bin, err := exec.LookPath("fusermount3")
	if err != nil {
		if bin, err = exec.LookPath("fusermount"); err != nil {
			return fmt.Errorf("fs: unmount %s: no fusermount3 or fusermount: %w", s.dir, err)
		}
	}
	if out, err := exec.CommandContext(ctx, bin, "-u", s.dir).CombinedOutput(); err != nil {
		s.log.Debug("fs: fusermount -u failed, detaching lazily", "dir", s.dir, "err", err, "output", string(out))
		if out, err := exec.CommandContext(ctx, bin, "-u", "-z", s.dir).CombinedOutput(); err != nil {
			return fmt.Errorf("fs: unmount %s: %s: %w", s.dir, out, err)
		}
	}
	return nil
}

// abort ends the FUSE connection by writing to its "abort" file in fusectl
// (root only; best effort). The FUSE loops then end, and any access to the
// old mount fails with ENOTCONN. If fusectl is not mounted at
// /sys/fs/fuse/connections, a private instance is mounted in a temporary
// folder for the write and unmounted again.
func (s *Server) abort() {
	if s.dev == 0 {
		return
	}
	major, minor := devMajorMinor(s.dev)
	conn := strconv.FormatUint(major<<20|minor, 10) // the kernel's dev_t encoding
	err := writeAbort(filepath.Join(sysConnections, conn))
	if errors.Is(err, fs.ErrNotExist) && s.asRoot {
		err = s.abortPrivate(conn)
	}
	if err != nil {
		s.log.Debug("fs: abort FUSE connection", "conn", conn, "err", err)
	}
}

const sysConnections = "/sys/fs/fuse/connections"

func writeAbort(connDir string) error {
	return os.WriteFile(filepath.Join(connDir, "abort"), []byte("1"), 0)
}

// abortPrivate mounts fusectl on a temporary folder to abort conn.
func (s *Server) abortPrivate(conn string) error {
	tmp, err := os.MkdirTemp("", "torrentfs-fusectl-")
	if err != nil {
		return fmt.Errorf("fs: abort: %w", err)
	}
	defer os.Remove(tmp)
	if err := syscall.Mount("fusectl", tmp, "fusectl", syscall.MS_NOSUID|syscall.MS_NODEV|syscall.MS_NOEXEC, ""); err != nil {
		return fmt.Errorf("fs: abort: mount fusectl: %w", err)
	}
	defer func() {
		if err := syscall.Unmount(tmp, syscall.MNT_DETACH); err != nil {
			s.log.Debug("fs: unmount private fusectl", "dir", tmp, "err", err)
		}
	}()
	return writeAbort(filepath.Join(tmp, conn))
}

// waitDone waits up to d for serving to end.
func (s *Server) waitDone(d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-s.done:
		return true
	case <-t.C:
		return false
	}
}
