package main

import (
	"context"
	"fmt"
	"io"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"
)

// proc is a child process in its own process group. Its output is kept in
// a bounded buffer for error messages. Stop ends the whole group and waits.
type proc struct {
	name string
	cmd  *exec.Cmd
	out  *tailBuffer
	done chan struct{} // closed once cmd.Wait has returned
	err  error         // cmd.Wait's result; read only after done is closed

	stdin interface{ Close() error } // nil unless asked for
}

type procOptions struct {
	stdin bool           // give the child a stdin pipe (closed on Stop)
	grace time.Duration  // wait this long after SIGTERM before SIGKILL
	log   io.WriteCloser // if set, also gets all of the output; closed once the process has exited
}

func startProc(name string, opts procOptions, args ...string) (*proc, error) {
	cmd := exec.Command(name, args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Setpgid:   true,
		Pdeathsig: syscall.SIGKILL, // if the benchmark dies, so do its children
	}
	p := &proc{name: name, cmd: cmd, out: &tailBuffer{max: 64 << 10}, done: make(chan struct{})}
	var out io.Writer = p.out
	closeLog := func() {}
	if opts.log != nil {
		out = io.MultiWriter(p.out, opts.log)
		closeLog = func() { opts.log.Close() }
	}
	cmd.Stdout = out
	cmd.Stderr = out
	if opts.stdin {
		w, err := cmd.StdinPipe()
		if err != nil {
			closeLog()
			return nil, fmt.Errorf("stdin pipe for %s: %w", name, err)
		}
		p.stdin = w
	}
	if err := cmd.Start(); err != nil {
		closeLog()
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	go func() {
		p.err = cmd.Wait() // returns once the output has been copied
		closeLog()
		close(p.done)
	}()
	return p, nil
}

func (p *proc) pid() int { return p.cmd.Process.Pid }

func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// wait waits for the process to exit on its own, up to d.
func (p *proc) wait(d time.Duration) bool {
	select {
	case <-p.done:
		return true
	case <-time.After(d):
		return false
	}
}

// stop sends sig to the process group, waits up to grace, then kills the
// group and waits for the process. It is safe to call more than once.
func (p *proc) stop(sig syscall.Signal, grace time.Duration) error {
	if p.stdin != nil {
		p.stdin.Close()
	}
	if !p.exited() {
		syscall.Kill(-p.pid(), sig)
		if !p.wait(grace) {
			syscall.Kill(-p.pid(), syscall.SIGKILL)
			<-p.done
			// Also kill any stragglers left in the group.
			syscall.Kill(-p.pid(), syscall.SIGKILL)
			return fmt.Errorf("%s (pid %d) ignored %v for %v; killed", p.name, p.pid(), sig, grace)
		}
	}
	syscall.Kill(-p.pid(), syscall.SIGKILL) // children of the group, if any
	return nil
}

// exitErr describes how the process ended, with its output's tail.
func (p *proc) exitErr() error {
	<-p.done
	return fmt.Errorf("%s exited (%v); output:\n%s", p.name, p.err, p.out.tail(4096))
}

// waitLine waits for a line with prefix prefix on the process's output and
// returns the rest of that line.
func (p *proc) waitLine(ctx context.Context, prefix string, timeout time.Duration) (string, error) {
	deadline := time.Now().Add(timeout)
	for {
		for _, line := range strings.Split(p.out.String(), "\n") {
			if rest, ok := strings.CutPrefix(line, prefix); ok {
				return rest, nil
			}
		}
		if p.exited() {
			return "", p.exitErr()
		}
		if time.Now().After(deadline) {
			return "", fmt.Errorf("%s printed no %q within %v; output:\n%s", p.name, prefix, timeout, p.out.tail(4096))
		}
		select {
		case <-ctx.Done():
			return "", ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// tailBuffer keeps the first and the last bytes written to it, up to max
// each.
type tailBuffer struct {
	max     int
	mu      sync.Mutex // guards head, buf and dropped
	head    []byte
	buf     []byte
	dropped bool
}

func (b *tailBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	n := len(p)
	if room := b.max - len(b.head); room > 0 {
		k := min(room, len(p))
		b.head = append(b.head, p[:k]...)
		p = p[k:]
	}
	b.buf = append(b.buf, p...)
	if len(b.buf) > b.max {
		b.buf = append(b.buf[:0], b.buf[len(b.buf)-b.max:]...)
		b.dropped = true
	}
	return n, nil
}

// String is the head of the output (where readiness lines are).
func (b *tailBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return string(b.head)
}

// tail is up to n bytes of the end of the output.
func (b *tailBuffer) tail(n int) string {
	b.mu.Lock()
	defer b.mu.Unlock()
	all := append(append([]byte{}, b.head...), b.buf...)
	if len(all) > n {
		all = all[len(all)-n:]
	}
	return string(all)
}

// cleanups is a stack of functions run in reverse order at exit.
type cleanups struct {
	mu  sync.Mutex // guards fns
	fns []func()
}

func (c *cleanups) push(f func()) {
	c.mu.Lock()
	c.fns = append(c.fns, f)
	c.mu.Unlock()
}

func (c *cleanups) run() {
	for {
		c.mu.Lock()
		if len(c.fns) == 0 {
			c.mu.Unlock()
			return
		}
		f := c.fns[len(c.fns)-1]
		c.fns = c.fns[:len(c.fns)-1]
		c.mu.Unlock()
		f()
	}
}

func lookTool(name, pkg string) (string, error) {
	p, err := exec.LookPath(name)
	if err != nil {
		return "", fmt.Errorf("%s not found (apt-get install %s): %w", name, pkg, err)
	}
	return p, nil
}
