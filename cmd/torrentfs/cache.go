package main

import (
	"bytes"
	"context"
	"crypto/sha1"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"text/tabwriter"

	"github.com/torrentfs/torrentfs/metainfo"
	"github.com/torrentfs/torrentfs/piececache"
)

const cacheUsage = `Usage: torrentfs cache <stats|clear|verify|import> [flags]

  stats   size on disk, size limit, and what is held of each torrent
  clear   empty the cache, or drop one torrent: torrentfs cache clear [infohash]
  verify  re-hash every piece against its torrent's SHA-1 and drop bad ones
  import  add a torrent's data already on disk, checked piece by piece:
          torrentfs cache import <file.torrent> <dir>

A cache in use by a running mount cannot be opened; unmount first.
Run "torrentfs cache <command> --help" for flags and an example.
`

func runCache(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, cacheUsage)
		return fmt.Errorf("%w: cache needs a command: stats, clear, verify or import", errUsage)
	}
	switch args[0] {
	case "stats":
		return runCacheStats(args[1:], stdout, stderr)
	case "clear":
		return runCacheClear(args[1:], stdout, stderr)
	case "verify":
		return runCacheVerify(args[1:], stdout, stderr)
	case "import":
		return runCacheImport(args[1:], stdout, stderr)
	case "help", "-h", "-help", "--help":
		fmt.Fprint(stdout, cacheUsage)
		return nil
	}
	fmt.Fprint(stderr, cacheUsage)
	return fmt.Errorf("%w: unknown cache command %q", errUsage, args[0])
}

// cacheFlags parses the flags every cache command has.
func cacheFlags(name, synopsis, example string, args []string, nargs []int, what string, stderr io.Writer) (dir string, rest []string, err error) {
	fs := newFlagSet("cache "+name, synopsis, example, stderr)
	fs.StringVar(&dir, "cache-dir", defaultCacheDir(), "the cache directory")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return "", nil, errHelp
		}
		return "", nil, fmt.Errorf("%w: cache %s: %v", errUsage, name, err)
	}
	for _, n := range nargs {
		if fs.NArg() == n {
			return dir, fs.Args(), nil
		}
	}
	fs.Usage()
	return "", nil, fmt.Errorf("%w: cache %s needs %s", errUsage, name, what)
}

// openExistingCache opens the cache in dir without a size limit (so that
// nothing is evicted) and without creating dir.
func openExistingCache(dir string) (*piececache.Cache, error) {
	if _, err := os.Stat(dir); err != nil {
		return nil, fmt.Errorf("cache directory: %w", err)
	}
	return openCacheDir(dir, 0)
}

// openCacheDir opens the cache in dir for a cache command, with limit
// maxBytes (0: none), and turns a damaged or incompatible cache into advice.
func openCacheDir(dir string, maxBytes int64) (*piececache.Cache, error) {
	c, err := piececache.Open(dir, piececache.Options{Logger: slog.New(slog.DiscardHandler), MaxBytes: maxBytes})
	if errors.Is(err, piececache.ErrDamaged) || errors.Is(err, piececache.ErrVersion) {
		return nil, fmt.Errorf("%w (torrentfs cache clear --cache-dir %s empties it)", err, dir)
	}
	return c, err
}

// diskUsage is what du reports for dir: allocated blocks of its files.
func diskUsage(dir string) int64 {
	var n int64
	filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return nil
		}
		if fi, err := d.Info(); err == nil {
			if st, ok := fi.Sys().(*syscall.Stat_t); ok {
				n += st.Blocks * 512
			}
		}
		return nil
	})
	return n
}

func runCacheStats(args []string, stdout, stderr io.Writer) error {
	dir, _, err := cacheFlags("stats", "torrentfs cache stats [--cache-dir DIR]",
		"  torrentfs cache stats --cache-dir /var/cache/torrentfs", args, []int{0}, "no arguments", stderr)
	if err != nil {
		return err
	}
	c, err := openExistingCache(dir)
	if err != nil {
		return err
	}
	defer c.Close()
	ctx := context.Background()
	st := c.Stats()
	tw := tabwriter.NewWriter(stdout, 0, 4, 1, ' ', 0)
	fmt.Fprintf(tw, "Cache:\t%s\n", dir)
	fmt.Fprintf(tw, "On disk:\t%s\n", sizeString(diskUsage(dir)))
	if l := c.SavedLimit(); l > 0 {
		fmt.Fprintf(tw, "Limit:\t%s (set by the last mount or import)\n", sizeString(l))
	} else {
		fmt.Fprintf(tw, "Limit:\tunknown\n")
	}
	fmt.Fprintf(tw, "Pieces:\t%d, %s in %d torrent(s)\n", st.Pieces, sizeString(st.Bytes), st.Torrents)
	tw.Flush()
	ts := c.Torrents()
	if len(ts) == 0 {
		return nil
	}
	fmt.Fprintln(stdout)
	tw = tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "INFO HASH\tPIECES\tSIZE\tNAME")
	for _, t := range ts {
		name := "?"
		if raw, err := c.TorrentInfo(ctx, t.InfoHash); err == nil {
			if info, err := metainfo.ParseInfo(raw); err == nil {
				name = fmt.Sprintf("%s (%d of %d pieces)", info.Name, t.Pieces, info.NumPieces())
			}
		}
		fmt.Fprintf(tw, "%x\t%d\t%s\t%s\n", t.InfoHash, t.Pieces, sizeString(t.Bytes), name)
	}
	return tw.Flush()
}

func runCacheClear(args []string, stdout, stderr io.Writer) error {
	dir, rest, err := cacheFlags("clear", "torrentfs cache clear [--cache-dir DIR] [infohash]",
		"  torrentfs cache clear                                            # everything\n"+
			"  torrentfs cache clear 3f19b149f53a50e14fc0b79926a391896eabab6f   # one torrent",
		args, []int{0, 1}, "at most one info hash", stderr)
	if err != nil {
		return err
	}
	before := diskUsage(dir)
	if len(rest) == 0 {
		if err := piececache.Wipe(dir); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "Cleared %s: %s freed\n", dir, sizeString(max(before-diskUsage(dir), 0)))
		return nil
	}
	ih, err := parseInfoHash(rest[0])
	if err != nil {
		return fmt.Errorf("%w: cache clear: %v", errUsage, err)
	}
	c, err := openExistingCache(dir)
	if err != nil {
		return err
	}
	defer c.Close()
	held, err := c.Pieces(context.Background(), ih)
	if err != nil {
		return err
	}
	if err := c.DeleteTorrent(context.Background(), ih); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "Dropped %d piece(s) of %x: %s freed\n", len(held), ih, sizeString(max(before-diskUsage(dir), 0)))
	return nil
}

// parseInfoHash parses 40 hex digits.
func parseInfoHash(s string) ([20]byte, error) {
	var ih [20]byte
	b, err := hex.DecodeString(s)
	if err != nil || len(b) != 20 {
		return ih, fmt.Errorf("%q is not an info hash (40 hex digits)", s)
	}
	copy(ih[:], b)
	return ih, nil
}

func runCacheVerify(args []string, stdout, stderr io.Writer) error {
	dir, _, err := cacheFlags("verify", "torrentfs cache verify [--cache-dir DIR]",
		"  torrentfs cache verify --cache-dir /var/cache/torrentfs\n"+
			"  (exit status 0 even if bad pieces were found: they are dropped, to be fetched again)",
		args, []int{0}, "no arguments", stderr)
	if err != nil {
		return err
	}
	c, err := openExistingCache(dir)
	if err != nil {
		return err
	}
	defer c.Close()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var checked, bad int
	for _, t := range c.Torrents() {
		r, err := verifyTorrent(ctx, c, t.InfoHash)
		if err != nil {
			return err
		}
		checked += r.checked
		bad += r.bad
		fmt.Fprintf(stdout, "%x %s: %d piece(s) %s, %d bad (dropped)\n", t.InfoHash, r.name, r.checked, r.how, r.bad)
	}
	if bad == 0 {
		fmt.Fprintf(stdout, "Checked %d piece(s): all good\n", checked)
	} else {
		fmt.Fprintf(stdout, "Checked %d piece(s): %d bad, dropped from the cache (they will be fetched again)\n", checked, bad)
	}
	return nil
}

type verifyResult struct {
	name         string
	how          string
	checked, bad int
}

// verifyTorrent re-hashes ih's pieces against its stored info, or, with no
// usable info, checks their CRCs only; it drops every bad piece.
func verifyTorrent(ctx context.Context, c *piececache.Cache, ih [20]byte) (verifyResult, error) {
	res := verifyResult{name: "(no torrent info stored)", how: "CRC-checked"}
	var info *metainfo.Info
	if raw, err := c.TorrentInfo(ctx, ih); err == nil {
		if sha1.Sum(raw) != ih {
			res.name = "(stored torrent info does not match its info hash)"
		} else if info, err = metainfo.ParseInfo(raw); err != nil {
			res.name = "(stored torrent info unreadable)"
		} else {
			res.name, res.how = info.Name, "re-hashed with SHA-1"
		}
	}
	pieces, err := c.Pieces(ctx, ih)
	if err != nil {
		return res, err
	}
	buf := make([]byte, piececache.MaxPieceSize+1)
	for _, p := range pieces {
		if err := ctx.Err(); err != nil {
			return res, err
		}
		want := -1 // unknown size: read what there is
		if info != nil {
			if p >= info.NumPieces() {
				want = 0 // no such piece in this torrent
			} else {
				want = int(info.PieceSize(p))
			}
		}
		n, err := c.ReadAt(ctx, ih, p, buf, 0)
		res.checked++
		good := err == io.EOF
		switch {
		case errors.Is(err, piececache.ErrNotFound):
			res.checked-- // evicted or dropped meanwhile
			continue
		case errors.Is(err, piececache.ErrCorrupt):
			good = false // already dropped by ReadAt
		case err != nil && err != io.EOF:
			return res, err
		case want >= 0 && n != want:
			good = false
		case info != nil:
			h := sha1.Sum(buf[:n])
			good = bytes.Equal(h[:], info.Pieces[p][:])
		}
		if !good {
			res.bad++
			if err := c.DeletePiece(ctx, ih, p); err != nil {
				return res, err
			}
		}
	}
	return res, nil
}
