package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"syscall"
	"time"

	"github.com/torrentfs/torrentfs/fetcher"
	"github.com/torrentfs/torrentfs/internal/testbytes"
	"github.com/torrentfs/torrentfs/internal/testswarm"
	"github.com/torrentfs/torrentfs/metainfo"
	"github.com/torrentfs/torrentfs/piececache"
)

// demoFile is one file of the sample torrent.
type demoFile struct {
	path []string
	data []byte
}

// sampleTorrent builds the demo's torrent: a large "video", a small text
// file and a file in a subfolder whose size does not divide the piece
// length, so files cross piece boundaries and the last piece is short.
func sampleTorrent(size int64, announce string) ([]byte, *metainfo.MetaInfo, []demoFile, error) {
	readme := []byte("This folder is a torrent, mounted by torrentfs.\n" +
		"Its bytes were fetched from a seeder on loopback and checked against their SHA-1.\n")
	files := []demoFile{
		{path: []string{"README.txt"}, data: readme},
		{path: []string{"video", "sample.bin"}, data: testbytes.Bytes(1, int(size))},
		{path: []string{"video", "subtitles.bin"}, data: testbytes.Bytes(2, 300_001)},
	}
	var cfs []metainfo.CreateFile
	for _, f := range files {
		cfs = append(cfs, metainfo.CreateFile{Path: f.path, Length: int64(len(f.data)), Data: bytes.NewReader(f.data)})
	}
	b, mi, err := metainfo.Create(metainfo.CreateOptions{
		Name:        "torrentfs-sample",
		PieceLength: 256 << 10,
		Announce:    announce,
		CreatedBy:   "torrentfs " + version,
		Comment:     "sample torrent made by torrentfs demo",
	}, cfs)
	return b, mi, files, err
}

func runDemo(args []string, stdout, stderr io.Writer) error {
	cfg := sessionConfig{}
	level := &logLevelFlag{level: slog.LevelWarn}
	var dir string
	var keep bool
	var sizeMiB int64
	fs := newFlagSet("demo", "torrentfs demo [flags]",
		"  torrentfs demo                    # seed, mount, read back and check, unmount\n"+
			"  torrentfs demo --keep --dir /mnt  # stay mounted so you can look around", stderr)
	addSessionFlags(fs, &cfg, level)
	fs.StringVar(&dir, "dir", "", "mount point (default: a new temporary directory)")
	fs.BoolVar(&keep, "keep", false, "stay mounted after the check until Ctrl-C")
	fs.Int64Var(&sizeMiB, "size-mib", 64, "size of the sample video file in MiB")
	cacheSet := false
	if err := parseFlags(fs, args, 0, "no arguments"); err != nil {
		return err
	}
	fs.Visit(func(f *flag.Flag) { cacheSet = cacheSet || f.Name == "cache-dir" })
	if sizeMiB < 1 || sizeMiB > 4096 {
		return fmt.Errorf("%w: --size-mib must be between 1 and 4096", errUsage)
	}
	cfg.Logger = level.logger(stderr)
	tuneGC()
	stopProfile, err := startCPUProfile(cfg.CPUProfile)
	if err != nil {
		return err
	}
	defer stopProfile()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	tmp, err := os.MkdirTemp("", "torrentfs-demo-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	if dir == "" {
		dir = filepath.Join(tmp, "mnt")
		if err := os.Mkdir(dir, 0o755); err != nil {
			return err
		}
	}
	if !cacheSet {
		cfg.CacheDir = filepath.Join(tmp, "cache") // a fresh cache, so the demo really downloads
	}

	// A tracker and a seeder, both on loopback.
	tr := testswarm.NewTracker(cfg.Logger.With("pkg", "tracker"))
	if err := tr.Start(ctx, "127.0.0.1:0"); err != nil {
		return fmt.Errorf("demo tracker: %w", err)
	}
	defer tr.Close()
	fmt.Fprintf(stdout, "Generating a %d MiB sample torrent...\n", sizeMiB)
	_, mi, files, err := sampleTorrent(sizeMiB<<20, tr.URL())
	if err != nil {
		return err
	}
	seeder, err := startDemoSeeder(ctx, cfg.Logger, mi, files)
	if err != nil {
		return err
	}
	defer seeder.Close()
	if err := waitListed(ctx, tr, mi.InfoHash, seeder.Addr()); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "Seeding %s (%s) from %s, tracker %s\n", mi.Info.Name, mi.InfoHash, seeder.Addr(), tr.URL())

	if cfg.Listen == ":0" {
		cfg.Listen = "127.0.0.1:0"
	}
	s, err := startSession(ctx, cfg, source{mi: mi}, dir, io.Discard)
	if err != nil {
		return err
	}
	defer func() {
		sctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
		defer cancel()
		s.close(sctx)
	}()
	fmt.Fprintf(stdout, "Mounted at %s\n\n", dir)
	if err := checkThroughMount(stdout, dir, mi, files); err != nil {
		return err
	}
	if !keep {
		fmt.Fprintf(stdout, "\nAll files match. Unmounting. (Run with --keep to stay mounted.)\n")
		return nil
	}
	fmt.Fprintf(stdout, "\nAll files match. Staying mounted at %s; Ctrl-C to stop.\n", dir)
	unmounted := make(chan struct{})
	go func() { s.srv.Wait(); close(unmounted) }()
	select {
	case <-ctx.Done():
	case <-unmounted:
	}
	return nil
}

// startDemoSeeder serves every piece of mi from memory.
func startDemoSeeder(ctx context.Context, log *slog.Logger, mi *metainfo.MetaInfo, files []demoFile) (*fetcher.Client, error) {
	var stream []byte
	for _, f := range files {
		stream = append(stream, f.data...)
	}
	store := piececache.NewMemory()
	for i := range mi.Info.NumPieces() {
		off := mi.Info.PieceOffset(i)
		if err := store.Put(ctx, mi.InfoHash, i, stream[off:off+mi.Info.PieceSize(i)]); err != nil {
			return nil, err
		}
	}
	c, err := fetcher.New(fetcher.Options{Logger: log.With("pkg", "seeder"), ListenAddr: "127.0.0.1:0", Storage: store})
	if err != nil {
		return nil, err
	}
	if _, err := c.AddTorrent(ctx, mi); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

// checkThroughMount reads every file through the kernel and compares its
// SHA-256 with the source, reporting time to first bytes and throughput.
func checkThroughMount(w io.Writer, dir string, mi *metainfo.MetaInfo, files []demoFile) error {
	for _, f := range files {
		p := filepath.Join(append([]string{dir, mi.Info.Name}, f.path...)...)
		start := time.Now()
		fh, err := os.Open(p)
		if err != nil {
			return fmt.Errorf("demo: %w", err)
		}
		h := sha256.New()
		buf := make([]byte, 64<<10)
		var first time.Duration
		var n int64
		for {
			m, err := fh.Read(buf)
			if n == 0 && m > 0 {
				first = time.Since(start)
			}
			n += int64(m)
			h.Write(buf[:m])
			if err == io.EOF {
				break
			}
			if err != nil {
				fh.Close()
				return fmt.Errorf("demo: reading %s: %w", p, err)
			}
		}
		fh.Close()
		el := time.Since(start)
		want := sha256.Sum256(f.data)
		ok := bytes.Equal(h.Sum(nil), want[:])
		fmt.Fprintf(w, "  %-40s %9s  first bytes %7s  %7.1f MB/s  sha256 %x… %s\n",
			filepath.Join(append([]string{mi.Info.Name}, f.path...)...), sizeString(n),
			first.Round(time.Millisecond/10), float64(n)/el.Seconds()/1e6, want[:6], map[bool]string{true: "ok", false: "MISMATCH"}[ok])
		if !ok {
			return fmt.Errorf("demo: %s read through the mount differs from the source", p)
		}
	}
	return nil
}

// waitListed waits until the tracker lists the seeder, so that the mount's
// first announce already finds it.
func waitListed(ctx context.Context, tr *testswarm.Tracker, ih metainfo.InfoHash, addr net.Addr) error {
	a, err := netip.ParseAddrPort(addr.String())
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	for !slices.Contains(tr.Peers(ih), a) {
		select {
		case <-ctx.Done():
			return fmt.Errorf("demo: the seeder did not appear in the tracker's peer list: %w", ctx.Err())
		case <-time.After(5 * time.Millisecond):
		}
	}
	return nil
}
