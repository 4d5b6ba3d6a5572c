// Command torrentfs mounts a torrent as a read-only folder whose files can
// be read at once, while their pieces are fetched from the swarm.
//
// It is the only place that wires the packages together, talks to the user
// and chooses exit codes: 0 for success, 1 for failures, 2 for usage errors.
package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
)

const usage = `torrentfs mounts a torrent as a read-only folder. Any program can open its
files at once; reads fetch the pieces under them first, verified by SHA-1.

Usage:
  torrentfs mount [flags] <file.torrent|magnet:…> <dir>  mount a torrent
  torrentfs info [flags] <file.torrent|magnet:…>        describe a torrent
  torrentfs demo [flags]                                seed a sample torrent on loopback and mount it
  torrentfs cache stats|clear|verify [flags]            inspect, empty or check the piece cache
  torrentfs version                                     print the version

Run "torrentfs <command> --help" for a command's flags and an example.
`

// errUsage marks a usage error: exit code 2.
var errUsage = errors.New("usage error")

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run executes one command and returns its exit code.
func run(args []string, stdout, stderr io.Writer) int {
	// Logs come from background goroutines (the DHT's bootstrap, the
	// fetcher) while progress lines are printed: one writer, one lock.
	stderr = &lockedWriter{w: stderr}
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	var err error
	switch cmd, rest := args[0], args[1:]; cmd {
	case "mount":
		err = runMount(rest, stdout, stderr)
	case "info":
		err = runInfo(rest, stdout, stderr)
	case "demo":
		err = runDemo(rest, stdout, stderr)
	case "cache":
		err = runCache(rest, stdout, stderr)
	case "version", "--version", "-version":
		fmt.Fprintln(stdout, "torrentfs", version)
		return 0
	case "help", "-h", "-help", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	default:
		fmt.Fprintf(stderr, "torrentfs: unknown command %q\n\n%s", cmd, usage)
		return 2
	}
	switch {
	case err == nil:
		return 0
	case errors.Is(err, errHelp):
		return 0
	case errors.Is(err, errUsage):
		fmt.Fprintf(stderr, "torrentfs: %v\n", err)
		return 2
	default:
		fmt.Fprintf(stderr, "torrentfs: %v\n", err)
		return 1
	}
}

// lockedWriter serialises writes to w.
type lockedWriter struct {
	mu sync.Mutex // guards w
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
