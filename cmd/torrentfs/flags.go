package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strings"

	"github.com/torrentfs/torrentfs/fetcher"
)

// version is torrentfs's version, shared with the peer id and the
// extension handshake.
const version = fetcher.Version

// errHelp means --help was asked for and printed: exit code 0.
var errHelp = errors.New("help printed")

// newFlagSet returns a FlagSet whose usage text shows synopsis, the flags
// and example.
func newFlagSet(name, synopsis, example string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: %s\n\nFlags:\n", synopsis)
		fs.PrintDefaults()
		fmt.Fprintf(stderr, "\nExample:\n%s\n", example)
	}
	return fs
}

// parseFlags parses args and checks the number of positional arguments.
func parseFlags(fs *flag.FlagSet, args []string, nargs int, what string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return errHelp
		}
		return fmt.Errorf("%w: %s: %v", errUsage, fs.Name(), err)
	}
	if fs.NArg() != nargs {
		fs.Usage()
		return fmt.Errorf("%w: %s needs %s", errUsage, fs.Name(), what)
	}
	return nil
}

// logLevelFlag is a --log-level value.
type logLevelFlag struct{ level slog.Level }

func (l *logLevelFlag) String() string { return strings.ToLower(l.level.String()) }
func (l *logLevelFlag) Set(s string) error {
	switch strings.ToLower(s) {
	case "debug":
		l.level = slog.LevelDebug
	case "info":
		l.level = slog.LevelInfo
	case "warn", "warning":
		l.level = slog.LevelWarn
	case "error":
		l.level = slog.LevelError
	default:
		return fmt.Errorf("unknown level %q (want debug, info, warn or error)", s)
	}
	return nil
}

func (l *logLevelFlag) logger(w io.Writer) *slog.Logger {
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: l.level}))
}
