// Command streambench measures torrentfs against btfs on a loopback swarm:
// first-byte and seek latency from a cold cache, sequential throughput,
// re-read throughput after a remount, memory and CPU, and a paced "player".
// Run it with bench/run, which builds torrentfs and enters a loopback-only
// network namespace; see bench/README.md.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

type config struct {
	Size        int64
	PieceLength int64
	Runs        int
	Only        []fsKind
	Scenarios   []string
	Seeders     int
	SeederKind  string // "libtorrent" or "torrentfs"
	Throttle    int64  // bytes/s of the player's throttled seeder
	SeekOffset  int64  // requested; see effectiveSeek
	PlayerRate  int64
	PlayerChunk int
	PlayerCap   time.Duration
	Stall       time.Duration
	OpTimeout   time.Duration
	UTPReset    bool

	TorrentFSBin  string
	BtfsBin       string
	TorrentFSArgs []string
	BtfsArgs      []string
	OutDir        string
	WorkDir       string
	SeedDir       string
	LogDir        string
	Keep          bool
	HashDuring    bool // compute the SHA-256 of sequential reads while reading, inside the timed span
	Label         string
}

var allScenarios = []string{"first", "seek", "seq", "player"}

func main() {
	code, err := run(os.Args[1:], os.Stdout, os.Stderr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "streambench:", err)
	}
	os.Exit(code)
}

func run(args []string, stdout, stderr io.Writer) (int, error) {
	cfg, err := parseFlags(args, stderr)
	if err != nil {
		return 2, err
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	b := &bench{cfg: cfg, log: log}
	defer b.cl.run()
	res, err := b.run(ctx)
	if res != nil {
		if err != nil {
			res.note("incomplete: " + err.Error())
		}
		b.finish(res)
		if werr := writeResults(cfg, res, stdout); werr != nil && err == nil {
			err = werr
		}
	}
	if err != nil {
		return 1, err
	}
	if res != nil && len(res.Errors) > 0 {
		return 1, fmt.Errorf("some measurements failed (listed under the table)")
	}
	return 0, nil
}

func parseFlags(args []string, stderr io.Writer) (*config, error) {
	fl := flag.NewFlagSet("streambench", flag.ContinueOnError)
	fl.SetOutput(stderr)
	cfg := &config{}
	size := byteSize(512 << 20)
	piece := byteSize(1 << 20)
	seek := byteSize(300 << 20)
	throttle := byteSize(1_000_000)
	prate := byteSize(5_000_000)
	pchunk := byteSize(256 << 10)
	tfsArgs := fl.String("torrentfs-args", "", "extra arguments for torrentfs mount, space-separated (e.g. \"--log-level debug\")")
	btfsArgs := fl.String("btfs-args", "", "extra arguments for btfs, space-separated")
	only := fl.String("only", "torrentfs,btfs", "filesystems to measure, comma-separated: torrentfs, btfs")
	scen := fl.String("scenarios", strings.Join(allScenarios, ","), "scenarios, comma-separated: first (64 KiB at 0), seek (64 KiB at -seek), seq (sequential read, re-read after remount, RSS, CPU), player")
	fl.Var(&size, "size", "size of the torrent's one file (e.g. 512MiB, 64MiB)")
	fl.Var(&piece, "piece", "piece length, a power of two")
	fl.IntVar(&cfg.Runs, "runs", 3, "runs per scenario and filesystem; figures are medians")
	fl.IntVar(&cfg.Seeders, "seeders", 2, "unthrottled seeders (each on its own loopback IP)")
	fl.StringVar(&cfg.SeederKind, "seeder", "libtorrent", "what the seeders run: libtorrent (python3-libtorrent) or torrentfs (the -torrentfs binary, its cache filled by \"cache import\")")
	fl.Var(&throttle, "throttle", "upload limit of the player scenario's extra seeder, bytes/s (0: no extra seeder)")
	fl.Var(&seek, "seek", "offset of the seek read (scaled down to 300/512 of -size if beyond the file)")
	fl.Var(&prate, "player-rate", "player's reading rate, bytes/s (5MB = 40 Mbit/s)")
	fl.Var(&pchunk, "player-chunk", "player's read size")
	fl.DurationVar(&cfg.PlayerCap, "player-cap", 0, "stop the player after this much playback (default: 60s at 512MiB, scaled with -size, at least 5s)")
	fl.DurationVar(&cfg.Stall, "stall", 200*time.Millisecond, "a player read slower than this (after the first second) is a stall")
	fl.DurationVar(&cfg.OpTimeout, "timeout", 5*time.Minute, "give up on one mount's measurement after this long")
	fl.BoolVar(&cfg.UTPReset, "utp-reset", true, "answer clients' uTP SYNs to the (TCP-only) seeders with a uTP RESET, so that btfs falls back to TCP at once (needs root)")
	fl.StringVar(&cfg.TorrentFSBin, "torrentfs", "", "torrentfs binary (bench/run builds it)")
	fl.StringVar(&cfg.BtfsBin, "btfs", "btfs", "btfs binary")
	fl.StringVar(&cfg.OutDir, "out", "bench/out", "where to write the JSON and Markdown results")
	fl.StringVar(&cfg.WorkDir, "work", "", "scratch directory (default: a new one under $TMPDIR, removed at the end)")
	fl.StringVar(&cfg.SeedDir, "seed-dir", defaultSeedDir(), "where the seeders' copy of the data lives; on tmpfs (the default, /dev/shm) dropping the page cache leaves the seeders fast, as remote seeders would be, and measures only the filesystem under test; a disk directory makes the seeders read from disk after every drop")
	fl.StringVar(&cfg.LogDir, "log-dir", "", "write each filesystem process's whole output to a file in this directory (e.g. with -torrentfs-args \"--log-level debug\")")
	fl.BoolVar(&cfg.Keep, "keep", false, "keep the scratch directory")
	fl.BoolVar(&cfg.HashDuring, "hash-during", false, "sequential reads: compute the SHA-256 on another goroutine while reading, inside the timed span (default: read into memory, hash after the clock stops)")
	fl.StringVar(&cfg.Label, "label", "", "free text recorded with the results (bench/run passes the git commit)")
	if err := fl.Parse(args); err != nil {
		return nil, err
	}
	if fl.NArg() != 0 {
		return nil, fmt.Errorf("unexpected arguments %q", fl.Args())
	}
	cfg.Size, cfg.PieceLength, cfg.SeekOffset = int64(size), int64(piece), int64(seek)
	cfg.TorrentFSArgs, cfg.BtfsArgs = strings.Fields(*tfsArgs), strings.Fields(*btfsArgs)
	cfg.Throttle, cfg.PlayerRate, cfg.PlayerChunk = int64(throttle), int64(prate), int(pchunk)
	if cfg.PlayerCap <= 0 {
		cfg.PlayerCap = defaultPlayerCap(cfg.Size)
	}
	if cfg.Size < 1<<20 {
		return nil, fmt.Errorf("-size %d: want at least 1MiB", cfg.Size)
	}
	if cfg.SeederKind != "libtorrent" && cfg.SeederKind != "torrentfs" {
		return nil, fmt.Errorf("-seeder %q: want libtorrent or torrentfs", cfg.SeederKind)
	}
	if cfg.Runs < 1 || cfg.Seeders < 1 || cfg.PlayerRate <= 0 || cfg.PlayerChunk <= 0 {
		return nil, fmt.Errorf("-runs, -seeders, -player-rate and -player-chunk must be positive")
	}
	for _, k := range splitList(*only) {
		switch fsKind(k) {
		case torrentFS, btFS:
			cfg.Only = append(cfg.Only, fsKind(k))
		default:
			return nil, fmt.Errorf("-only: unknown filesystem %q (want torrentfs or btfs)", k)
		}
	}
	for _, s := range splitList(*scen) {
		ok := false
		for _, a := range allScenarios {
			ok = ok || s == a
		}
		if !ok {
			return nil, fmt.Errorf("-scenarios: unknown scenario %q (want %s)", s, strings.Join(allScenarios, ", "))
		}
		cfg.Scenarios = append(cfg.Scenarios, s)
	}
	if len(cfg.Only) == 0 || len(cfg.Scenarios) == 0 {
		return nil, fmt.Errorf("nothing to measure")
	}
	for _, k := range cfg.Only {
		if k == torrentFS && cfg.TorrentFSBin == "" {
			return nil, fmt.Errorf("-torrentfs: need the torrentfs binary (bench/run builds it)")
		}
	}
	return cfg, nil
}

// effectiveSeek is the seek scenario's offset: -seek, or 300/512 of the
// file (rounded down to a piece) when -seek lies beyond it.
func (c *config) effectiveSeek() int64 {
	if c.SeekOffset+64<<10 <= c.Size {
		return c.SeekOffset
	}
	off := c.Size / 512 * 300
	return off / c.PieceLength * c.PieceLength
}

// defaultPlayerCap is 60 s of playback for a 512 MiB file, scaled with the
// file's size (so that a quick run stays quick), and at least 5 s.
func defaultPlayerCap(size int64) time.Duration {
	d := time.Duration(float64(60*time.Second) * float64(size) / float64(512<<20))
	return min(max(d, 5*time.Second), 60*time.Second).Round(100 * time.Millisecond)
}

func (c *config) has(scenario string) bool {
	if scenario == "" {
		return true
	}
	for _, s := range c.Scenarios {
		if s == scenario {
			return true
		}
	}
	return false
}

func splitList(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

func absPath(p string) string {
	if a, err := filepath.Abs(p); err == nil {
		return a
	}
	return p
}
