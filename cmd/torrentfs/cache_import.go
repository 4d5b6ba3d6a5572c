package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/torrentfs/torrentfs/fetcher"
	"github.com/torrentfs/torrentfs/metainfo"
)

// runCacheImport puts the pieces of a torrent that are already on disk
// into the cache, each checked against its SHA-1, so that a mount serves
// (and seeds) them without downloading them again.
func runCacheImport(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("cache import", "torrentfs cache import [--cache-dir DIR] [--cache-size SIZE] <file.torrent> <dir>",
		"  torrentfs cache import ubuntu.torrent ~/Downloads\n"+
			"  (reads ~/Downloads/<the torrent's name>, as a BitTorrent client saves it; pieces\n"+
			"  that are missing or fail their SHA-1 are skipped and counted)", stderr)
	dir := fs.String("cache-dir", defaultCacheDir(), "the cache directory (created if needed)")
	var size sizeFlag
	fs.Var(&size, "cache-size", "most disk space the cache may use (default: as for mount)")
	if err := parseFlags(fs, args, 2, "a .torrent file and the directory holding its data"); err != nil {
		return err
	}
	src, data := fs.Arg(0), fs.Arg(1)
	if isMagnet(src) {
		return fmt.Errorf("%w: cache import needs a .torrent file, not a magnet link (mount the magnet once, or use the .torrent)", errUsage)
	}
	mi, err := metainfo.ReadFile(src)
	if err != nil {
		return err
	}
	if st, err := os.Stat(data); err != nil {
		return fmt.Errorf("data directory: %w", err)
	} else if !st.IsDir() {
		return fmt.Errorf("data directory: %s is not a directory (give the one that holds %q)", data, mi.Info.Name)
	}
	limit := size.n
	if limit == 0 {
		limit = defaultCacheSize(*dir)
	}
	c, err := openCacheDir(*dir, limit)
	if err != nil {
		return err
	}
	defer c.Close()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := c.PutTorrentInfo(ctx, mi.InfoHash, mi.InfoBytes); err != nil {
		return err
	}
	st, err := fetcher.Import(ctx, c, mi, data, nil)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s (%s): %d piece(s) stored, %d already held, %d missing on disk, %d failed their SHA-1\n",
		mi.Info.Name, mi.InfoHash, st.Stored, st.Held, st.Missing, st.Bad)
	if mi.Info.TotalLength > limit {
		fmt.Fprintf(stdout, "Note: the torrent (%s) is larger than the cache limit (%s); the least recently stored pieces were evicted\n",
			sizeString(mi.Info.TotalLength), sizeString(limit))
	}
	return nil
}
