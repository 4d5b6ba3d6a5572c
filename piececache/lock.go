package piececache

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// ownerFile is our lock on a cache directory. It is flock'ed, so the lock
// ends with the process that held it and a file left by a dead process is
// harmless; it holds the owner's PID so that a second Open can name it.
const ownerFile = "owner.pid"

// dirLock is a held lock on a cache directory.
type dirLock struct{ f *os.File }

// lockDir takes the lock on dir, or returns an *InUseError if a live Cache
// (in this or another process) holds it.
func lockDir(dir string) (*dirLock, error) {
	path := filepath.Join(dir, ownerFile)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("piececache: open lock file: %w", err)
	}
	if err := flock(f, syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, &InUseError{Dir: dir, PID: readPID(path)}
		}
		return nil, fmt.Errorf("piececache: lock %s: %w", path, err)
	}
	if err := writePID(f); err != nil {
		f.Close() // also releases the lock
		return nil, fmt.Errorf("piececache: write %s: %w", path, err)
	}
	return &dirLock{f: f}, nil
}

func flock(f *os.File, how int) error {
	for {
		err := syscall.Flock(int(f.Fd()), how)
		if err != syscall.EINTR {
			return err
		}
	}
}

func writePID(f *os.File) error {
	if err := f.Truncate(0); err != nil {
		return err
	}
	_, err := f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	return err
}

// readPID returns the PID in the lock file at path, or 0 if there is none.
func readPID(path string) int {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 0 {
		return 0
	}
	return pid
}

// unlock releases the lock. The file stays: removing it would race with a
// new owner that opened it already.
func (l *dirLock) unlock() error {
	return l.f.Close()
}

// badgerPIDFile is where Badger writes its PID; Badger flocks the
// directory itself.
const badgerPIDFile = "LOCK"

// badgerLockHolder reports whether a live process holds Badger's own lock
// on dir (one that did not take ours: another program, or an older
// build), and the PID Badger wrote. Badger's error for that case carries
// no error value to test, so Open asks the lock itself.
func badgerLockHolder(dir string) (pid int, held bool) {
	f, err := os.Open(dir)
	if err != nil {
		return 0, false
	}
	defer f.Close() // releases the probe's lock if it got one
	if err := flock(f, syscall.LOCK_SH|syscall.LOCK_NB); err != nil {
		return readPID(filepath.Join(dir, badgerPIDFile)), errors.Is(err, syscall.EWOULDBLOCK)
	}
	return 0, false
}
