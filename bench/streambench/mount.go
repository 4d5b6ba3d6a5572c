package main

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// fsKind names a filesystem under test.
type fsKind string

const (
	torrentFS fsKind = "torrentfs"
	btFS      fsKind = "btfs"
)

// mounter starts one filesystem's process for the swarm's torrent.
type mounter struct {
	kind  fsKind
	bin   string
	extra []string // more arguments, before the torrent and mount point
	logs  string   // if set, each process's whole output goes to a file here
}

// mount is a running filesystem process and its mount point.
type mount struct {
	kind    fsKind
	dir     string // the mount point
	file    string // the torrent's file inside it
	proc    *proc
	started time.Time
	ready   time.Time // when the file first showed up with its full size

	stopTook time.Duration // how long the first stop took, 0 until then
}

// start mounts the swarm's torrent at mnt with its state (cache or data
// directory) in stateDir, and waits until the file shows up with its size.
func (m mounter) start(ctx context.Context, s *swarm, stateDir, mnt string, timeout time.Duration) (*mount, error) {
	if err := os.MkdirAll(mnt, 0o755); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(stateDir, 0o755); err != nil {
		return nil, err
	}
	var args []string
	grace := 20 * time.Second
	switch m.kind {
	case torrentFS:
		args = append([]string{"mount", "--cache-dir", stateDir, "--listen", "127.0.0.1:0"}, m.extra...)
		args = append(args, s.torrentPath, mnt)
	case btFS:
		args = append([]string{"-f", "--data-directory=" + stateDir}, m.extra...)
		args = append(args, s.torrentPath, mnt)
	default:
		return nil, fmt.Errorf("unknown filesystem %q", m.kind)
	}
	mt := &mount{kind: m.kind, dir: mnt, file: filepath.Join(mnt, s.name), started: time.Now()}
	opts := procOptions{grace: grace}
	if m.logs != "" {
		f, err := os.CreateTemp(m.logs, string(m.kind)+"-*.log")
		if err != nil {
			return nil, err
		}
		opts.log = f
	}
	p, err := startProc(m.bin, opts, args...)
	if err != nil {
		return nil, err
	}
	mt.proc = p
	deadline := time.Now().Add(timeout)
	for {
		if st, err := os.Stat(mt.file); err == nil && st.Size() == s.size {
			mt.ready = time.Now()
			return mt, nil
		}
		if p.exited() {
			mt.stop()
			return nil, fmt.Errorf("%s: %w", m.kind, p.exitErr())
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			mt.stop()
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			return nil, fmt.Errorf("%s: %s did not appear within %v; output:\n%s", m.kind, mt.file, timeout, p.out.tail(4096))
		}
		time.Sleep(time.Millisecond)
	}
}

// btfsExitGrace is how long btfs gets to exit after its unmount. It
// sometimes never does (a read still pending inside it), and then needs a
// signal.
const btfsExitGrace = 5 * time.Second

// stop unmounts and waits for the process to exit, killing it and
// unmounting lazily if it does not. It is safe to call more than once.
func (mt *mount) stop() error {
	var err error
	start := time.Now()
	defer func() {
		if mt.stopTook == 0 {
			mt.stopTook = time.Since(start)
		}
	}()
	switch mt.kind {
	case torrentFS:
		// torrentfs unmounts itself on SIGTERM.
		err = mt.proc.stop(syscall.SIGTERM, 20*time.Second)
	case btFS:
		// btfs exits once unmounted; it may hang on unmount while a read is
		// pending, hence the kill after a grace period.
		if !mt.proc.exited() {
			if uerr := syscall.Unmount(mt.dir, 0); uerr != nil {
				if out, ferr := exec.Command("fusermount", "-u", mt.dir).CombinedOutput(); ferr != nil {
					err = fmt.Errorf("unmount: %v; fusermount -u: %v: %s", uerr, ferr, out)
				}
			}
			if !mt.proc.wait(btfsExitGrace) {
				if err == nil {
					err = fmt.Errorf("btfs still running %v after a successful unmount; sent SIGTERM", btfsExitGrace)
				} else {
					err = fmt.Errorf("btfs still running %v after unmounting failed (%v); sent SIGTERM", btfsExitGrace, err)
				}
			}
		}
		if serr := mt.proc.stop(syscall.SIGTERM, 5*time.Second); serr != nil {
			err = fmt.Errorf("%v; %v", err, serr)
		}
	}
	if uerr := ensureUnmounted(mt.dir); err == nil {
		err = uerr
	}
	return err
}

// ensureUnmounted unmounts dir if it is still mounted, lazily as a last
// resort (which also clears "transport endpoint is not connected").
func ensureUnmounted(dir string) error {
	for _, try := range []func() error{
		func() error { return syscall.Unmount(dir, 0) },
		func() error { return syscall.Unmount(dir, syscall.MNT_DETACH) },
		func() error { return exec.Command("fusermount", "-u", "-z", dir).Run() },
	} {
		if m, err := mounted(dir); err != nil || !m {
			return err
		}
		try()
	}
	if m, _ := mounted(dir); m {
		return fmt.Errorf("%s is still mounted after every unmount attempt", dir)
	}
	return nil
}

// mounted reports whether dir is a mount point, from /proc/self/mountinfo.
func mounted(dir string) (bool, error) {
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

// unescapeMountinfo undoes the kernel's octal escapes (\040 for a space).
func unescapeMountinfo(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			if c, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(c))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// procUsage is a process's peak RSS and CPU time so far, from /proc.
type procUsage struct {
	PeakRSS int64         // VmHWM, bytes; counts mapped file pages too
	AnonRSS int64         // RssAnon now, bytes: heap and other private memory
	CPU     time.Duration // user + system, all threads
}

func readProcUsage(pid int) (procUsage, error) {
	var u procUsage
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return u, err
	}
	for _, line := range strings.Split(string(status), "\n") {
		for key, dst := range map[string]*int64{"VmHWM:": &u.PeakRSS, "RssAnon:": &u.AnonRSS} {
			if rest, ok := strings.CutPrefix(line, key); ok {
				f := strings.Fields(rest)
				if len(f) >= 1 {
					kb, err := strconv.ParseInt(f[0], 10, 64)
					if err != nil {
						return u, fmt.Errorf("%s %q: %w", key, rest, err)
					}
					*dst = kb << 10
				}
			}
		}
	}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return u, err
	}
	// Fields after the command name, which is in parentheses and may hold
	// spaces: state is field 3, utime 14 and stime 15.
	i := strings.LastIndexByte(string(stat), ')')
	if i < 0 {
		return u, fmt.Errorf("bad /proc/%d/stat", pid)
	}
	f := strings.Fields(string(stat[i+1:]))
	if len(f) < 13 {
		return u, fmt.Errorf("short /proc/%d/stat", pid)
	}
	ut, err1 := strconv.ParseInt(f[11], 10, 64)
	st, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return u, fmt.Errorf("bad times in /proc/%d/stat", pid)
	}
	const clkTck = 100 // USER_HZ, 100 on every Linux architecture Go supports
	u.CPU = time.Duration(ut+st) * time.Second / clkTck
	return u, nil
}

// sampleAnonRSS polls pid's RssAnon every interval until the returned
// function is called; that function stops the polling, waits for it, and
// returns the largest value seen, in bytes (VmHWM has no anonymous-only
// counterpart).
func sampleAnonRSS(pid int, interval time.Duration) (stop func() int64) {
	quit := make(chan struct{})
	done := make(chan int64, 1)
	go func() {
		var peak int64
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			if u, err := readProcUsage(pid); err == nil {
				peak = max(peak, u.AnonRSS)
			}
			select {
			case <-t.C:
			case <-quit:
				done <- peak
				return
			}
		}
	}()
	return func() int64 {
		close(quit)
		return <-done
	}
}
