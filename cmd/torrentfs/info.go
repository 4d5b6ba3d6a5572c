package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/torrentfs/torrentfs/fetcher"
	"github.com/torrentfs/torrentfs/metainfo"
	"github.com/torrentfs/torrentfs/piececache"
)

func runInfo(args []string, stdout, stderr io.Writer) error {
	var (
		timeout time.Duration
		listen  string
		peers   peerList
	)
	level := &logLevelFlag{level: slog.LevelWarn}
	fs := newFlagSet("info", "torrentfs info [flags] <file.torrent|magnet:…>",
		"  torrentfs info ubuntu.torrent\n"+
			"  torrentfs info 'magnet:?xt=urn:btih:…&tr=…'   # fetches the metadata from peers first", stderr)
	fs.DurationVar(&timeout, "metadata-timeout", 5*time.Minute, "how long a magnet link may take to get its metadata from peers")
	fs.StringVar(&listen, "listen", ":0", "address to accept peers on while fetching a magnet's metadata")
	fs.Var(&peers, "peer", "also ask this peer (IP:PORT) for a magnet's metadata (repeatable)")
	fs.Var(level, "log-level", "debug, info, warn or error")
	var dhtf dhtFlags
	dhtf.add(fs)
	if err := parseFlags(fs, args, 1, "one .torrent file or magnet link"); err != nil {
		return err
	}
	src, err := loadSource(fs.Arg(0))
	if err != nil {
		return err
	}
	var c *fetcher.Client
	if src.magnet != nil {
		for _, p := range peers {
			src.magnet.Peers = append(src.magnet.Peers, p.String())
		}
		log := level.logger(stderr)
		d := startDHT(listen, dhtf.nodes(), log.With("pkg", "dht"))
		if d != nil {
			defer d.close() // after the client's Close below
		}
		c, err = fetcher.New(fetcher.Options{Logger: log, ListenAddr: listen, Storage: piececache.NewMemory(), DHT: d.finder()})
		if err != nil {
			return err
		}
		defer c.Close()
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	mi, err := src.resolve(ctx, c, nil, timeout, stderr)
	if err != nil {
		return err
	}
	printInfo(stdout, mi)
	return nil
}

func printInfo(w io.Writer, mi *metainfo.MetaInfo) {
	info := mi.Info
	n := info.NumPieces()
	tw := tabwriter.NewWriter(w, 0, 4, 1, ' ', 0)
	fmt.Fprintf(tw, "Name:\t%s\n", info.Name)
	fmt.Fprintf(tw, "Info hash:\t%s\n", mi.InfoHash)
	fmt.Fprintf(tw, "Size:\t%s (%d bytes)\n", sizeString(info.TotalLength), info.TotalLength)
	fmt.Fprintf(tw, "Pieces:\t%d × %s (last %s)\n", n, sizeString(info.PieceLength), sizeString(info.PieceSize(n-1)))
	fmt.Fprintf(tw, "Private:\t%s\n", yesNo(info.Private))
	if mi.CreatedBy != "" {
		fmt.Fprintf(tw, "Created by:\t%s\n", mi.CreatedBy)
	}
	if !mi.CreationDate.IsZero() {
		fmt.Fprintf(tw, "Created:\t%s\n", mi.CreationDate.UTC().Format("2006-01-02 15:04:05 MST"))
	}
	if mi.Comment != "" {
		fmt.Fprintf(tw, "Comment:\t%s\n", mi.Comment)
	}
	tw.Flush()

	var files []int
	for i, f := range info.Files {
		if !f.Pad {
			files = append(files, i)
		}
	}
	fmt.Fprintf(w, "\nFiles (%d):\n", len(files))
	tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
	for _, i := range files {
		fmt.Fprintf(tw, "  %s\t  %s\n", sizeString(info.Files[i].Length), path.Join(info.FullPath(i)...))
	}
	tw.Flush()

	tiers := mi.Trackers()
	fmt.Fprintf(w, "\nTrackers:")
	if len(tiers) == 0 {
		fmt.Fprintf(w, " none\n")
	} else {
		fmt.Fprintln(w)
		for i, tier := range tiers {
			for _, u := range tier {
				fmt.Fprintf(w, "  tier %d: %s\n", i+1, u)
			}
		}
	}
	fmt.Fprintf(w, "\nMagnet:\n  %s\n", mi.Magnet())
	if len(mi.URLList) > 0 {
		fmt.Fprintf(w, "\nWeb seeds:\n")
		for _, u := range mi.URLList {
			fmt.Fprintf(w, "  %s\n", u)
		}
	}
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}
