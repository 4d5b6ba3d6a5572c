// Package leakcheck fails a test that leaves goroutines running.
//
// Use it at the top of a test:
//
//	defer leakcheck.Check(t)()
//
// or for a whole package in TestMain with leakcheck.Main.
package leakcheck

import (
	"fmt"
	"os"
	"runtime"
	"sort"
	"strings"
	"testing"
	"time"
)

// Grace is how long Check waits for goroutines to finish after the test.
const Grace = 5 * time.Second

// Check records the goroutines running now and fails t if, within Grace
// after the test and all of its cleanups, goroutines started since are
// still running. It registers itself with t.Cleanup, so it runs after every
// cleanup registered later; the function it returns does nothing and exists
// so that "defer leakcheck.Check(t)()" reads naturally.
func Check(t testing.TB) func() {
	t.Helper()
	before := snapshot()
	t.Cleanup(func() {
		if leaked := waitLeaks(before); len(leaked) > 0 {
			t.Errorf("leakcheck: %d goroutine(s) still running after the test:\n\n%s",
				len(leaked), strings.Join(leaked, "\n\n"))
		}
	})
	return func() {}
}

// Main runs the package's tests and then fails the run if goroutines
// started by them are still running.
func Main(m *testing.M) {
	before := snapshot()
	code := m.Run()
	if code == 0 {
		if leaked := waitLeaks(before); len(leaked) > 0 {
			fmt.Fprintf(os.Stderr, "leakcheck: %d goroutine(s) still running after the tests:\n\n%s\n",
				len(leaked), strings.Join(leaked, "\n\n"))
			code = 1
		}
	}
	os.Exit(code)
}

func waitLeaks(before map[string]bool) []string {
	deadline := time.Now().Add(Grace)
	for {
		var leaked []string
		for id, stack := range goroutines() {
			if !before[id] && !ignored(stack) {
				leaked = append(leaked, stack)
			}
		}
		if len(leaked) == 0 || time.Now().After(deadline) {
			sort.Strings(leaked)
			return leaked
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func snapshot() map[string]bool {
	ids := map[string]bool{}
	for id := range goroutines() {
		ids[id] = true
	}
	return ids
}

// goroutines maps each goroutine's id line ("goroutine 12") to its stack.
func goroutines() map[string]string {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	out := map[string]string{}
	for _, g := range strings.Split(string(buf), "\n\n") {
		head, _, _ := strings.Cut(g, " [")
		out[head] = g
	}
	return out
}

// ignored reports goroutines that belong to the runtime, the test framework
// or idle pooled HTTP connections rather than to the code under test.
func ignored(stack string) bool {
	for _, s := range []string{
		"leakcheck.goroutines",
		"testing.(*T).Run",
		"testing.(*M).",
		"testing.tRunner.func1",
		"testing.runFuzzing",
		"os/signal.signal_recv",
		"os/signal.loop",
		"runtime.ensureSigM",
		"net/http.(*persistConn).readLoop",
		"net/http.(*persistConn).writeLoop",
	} {
		if strings.Contains(stack, s) {
			return true
		}
	}
	return false
}
