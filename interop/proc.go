package interop

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Proc is a subprocess owned by a test. It runs in its own process group;
// t.Cleanup stops the whole group (SIGTERM, then SIGKILL) and waits for it.
type Proc struct {
	Name string
	Cmd  *exec.Cmd

	stdin    io.WriteCloser
	stdout   *syncBuffer
	stderr   *syncBuffer
	sig      syscall.Signal
	grace    time.Duration
	stopOnce sync.Once
	done     chan struct{} // closed once Wait has returned
	err      error         // Wait's result; read only after done is closed
}

// ProcOptions adjusts how StartProc runs a program.
type ProcOptions struct {
	Dir   string
	Env   []string // added to the test's environment
	Stdin bool     // give the process a stdin pipe; closed at cleanup (or CloseStdin)
	// StopSignal is sent first at cleanup; SIGTERM if zero.
	StopSignal syscall.Signal
	// StopGrace is how long cleanup waits after StopSignal before SIGKILL.
	StopGrace time.Duration
}

// StartProc starts a program and registers its cleanup.
func StartProc(t testing.TB, opts ProcOptions, name string, args ...string) *Proc {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = opts.Dir
	if opts.Env != nil {
		cmd.Env = append(cmd.Environ(), opts.Env...)
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Setpgid:   true,
		Pdeathsig: syscall.SIGKILL, // if the test binary dies, so does the child
	}
	p := &Proc{
		Name:   name,
		Cmd:    cmd,
		stdout: &syncBuffer{},
		stderr: &syncBuffer{},
		done:   make(chan struct{}),
	}
	cmd.Stdout = p.stdout
	cmd.Stderr = p.stderr
	if opts.Stdin {
		w, err := cmd.StdinPipe()
		if err != nil {
			t.Fatalf("interop: stdin pipe for %s: %v", name, err)
		}
		p.stdin = w
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("interop: start %s: %v", name, err)
	}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	grace := opts.StopGrace
	if grace == 0 {
		grace = 5 * time.Second
	}
	sig := opts.StopSignal
	if sig == 0 {
		sig = syscall.SIGTERM
	}
	p.sig, p.grace = sig, grace
	t.Cleanup(func() {
		p.stop(t, sig, grace)
		if t.Failed() {
			t.Logf("interop: %s %s\n--- stdout (tail) ---\n%s\n--- stderr (tail) ---\n%s",
				name, strings.Join(args, " "), tail(p.Stdout(), 4096), tail(p.Stderr(), 8192))
		}
	})
	return p
}

func (p *Proc) stop(t testing.TB, sig syscall.Signal, grace time.Duration) {
	// Only once: after the group is gone its id may be reused by processes
	// that are not ours.
	p.stopOnce.Do(func() { p.stopNow(t, sig, grace) })
}

func (p *Proc) stopNow(t testing.TB, sig syscall.Signal, grace time.Duration) {
	if p.stdin != nil {
		p.stdin.Close()
	}
	pgid := p.Cmd.Process.Pid
	select {
	case <-p.done:
	default:
		_ = syscall.Kill(-pgid, sig)
		select {
		case <-p.done:
		case <-time.After(grace):
			t.Logf("interop: %s did not exit on %v within %v; killing it", p.Name, sig, grace)
		}
	}
	// Sweep the group for children the leader left behind, then make sure
	// none of them survives (zombies waiting for init count as gone).
	_ = syscall.Kill(-pgid, syscall.SIGKILL)
	<-p.done
	if left := groupMembers(pgid, 2*time.Second); len(left) > 0 {
		t.Errorf("interop: %s left processes behind in its group: %v", p.Name, left)
	}
}

// groupMembers waits up to timeout for process group pgid to have no live
// (non-zombie) members, and returns those still alive.
func groupMembers(pgid int, timeout time.Duration) []string {
	deadline := time.Now().Add(timeout)
	for {
		left := liveGroupMembers(pgid)
		if len(left) == 0 || time.Now().After(deadline) {
			return left
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// liveGroupMembers lists "pid name" of non-zombie processes in group pgid,
// from /proc/PID/stat.
func liveGroupMembers(pgid int) []string {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	var out []string
	for _, e := range ents {
		if _, err := strconv.Atoi(e.Name()); err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		// pid (comm) state ppid pgrp ...; comm may contain spaces and ')'.
		i := bytes.LastIndexByte(b, ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(string(b[i+1:]))
		if len(f) < 3 || f[0] == "Z" || f[0] == "X" {
			continue
		}
		if g, err := strconv.Atoi(f[2]); err == nil && g == pgid {
			out = append(out, e.Name()+" "+string(b[bytes.IndexByte(b, '(')+1:i]))
		}
	}
	return out
}

// Stop stops the process now, as cleanup would: stdin closed, SIGTERM (or
// the configured signal), SIGKILL after the grace period, and waits.
func (p *Proc) Stop(t testing.TB) {
	t.Helper()
	p.stop(t, p.sig, p.grace)
}

// CloseStdin closes the process's stdin pipe, if it has one.
func (p *Proc) CloseStdin() {
	if p.stdin != nil {
		p.stdin.Close()
	}
}

// Signal sends sig to the process (not its group).
func (p *Proc) Signal(sig syscall.Signal) error {
	return p.Cmd.Process.Signal(sig)
}

// Stdout is everything the process has written to stdout so far.
func (p *Proc) Stdout() string { return p.stdout.String() }

// Stderr is everything the process has written to stderr so far.
func (p *Proc) Stderr() string { return p.stderr.String() }

// Exited reports whether the process has exited.
func (p *Proc) Exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// Wait waits for the process to exit or ctx to end. It returns the exit
// code (-1 if killed by a signal) and the error from exec.Cmd.Wait.
func (p *Proc) Wait(ctx context.Context) (code int, err error) {
	select {
	case <-p.done:
	case <-ctx.Done():
		return -1, fmt.Errorf("interop: waiting for %s: %w", p.Name, ctx.Err())
	}
	if p.err == nil {
		return 0, nil
	}
	var ee *exec.ExitError
	if errors.As(p.err, &ee) {
		return ee.ExitCode(), p.err
	}
	return -1, p.err
}

// WaitOutput polls stdout until it contains want, the process exits, or
// timeout passes. It fails t, with the process's stderr, on exit or timeout.
func (p *Proc) WaitOutput(t testing.TB, want string, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		if strings.Contains(p.Stdout(), want) {
			return
		}
		if p.Exited() {
			if strings.Contains(p.Stdout(), want) {
				return
			}
			t.Fatalf("interop: %s exited (%v) before printing %q\nstderr:\n%s", p.Name, p.err, want, tail(p.Stderr(), 8192))
		}
		if time.Now().After(deadline) {
			t.Fatalf("interop: %s did not print %q within %v\nstdout:\n%s\nstderr:\n%s",
				p.Name, want, timeout, tail(p.Stdout(), 4096), tail(p.Stderr(), 8192))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// syncBuffer is a bytes.Buffer safe for one writer and concurrent readers.
type syncBuffer struct {
	mu sync.Mutex // guards b
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "...\n" + s[len(s)-n:]
}
