package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"github.com/torrentfs/torrentfs/internal/testbytes"
)

// bench owns everything a benchmark run starts; cl stops it all.
type bench struct {
	cfg *config
	log *slog.Logger
	cl  cleanups

	work        string
	swarm       *swarm
	canDrop     bool         // whether writing /proc/sys/vm/drop_caches works
	utp         *utpResetter // nil with -utp-reset=false
	scenarioSeq int          // numbers scratch directories
}

func (b *bench) run(ctx context.Context) (*results, error) {
	cfg := b.cfg
	for _, k := range cfg.Only {
		bin := cfg.TorrentFSBin
		if k == btFS {
			bin = cfg.BtfsBin
		}
		if _, err := lookTool(bin, string(k)); err != nil {
			return nil, err
		}
	}
	if _, err := os.Stat("/dev/fuse"); err != nil {
		return nil, fmt.Errorf("FUSE is not available: %w", err)
	}
	res := newResults(cfg)
	res.Machine = machineInfo(cfg)
	res.Started = time.Now().UTC()

	work := cfg.WorkDir
	if work == "" {
		d, err := os.MkdirTemp("", "streambench-")
		if err != nil {
			return nil, err
		}
		work = d
		if !cfg.Keep {
			b.cl.push(func() { os.RemoveAll(work) })
		}
	} else if err := os.MkdirAll(work, 0o755); err != nil {
		return nil, err
	}
	b.work = work
	b.log.Info("setting up the swarm", "dir", work, "size", sizeName(cfg.Size))

	port, err := freePort("127.0.0.1")
	if err != nil {
		return nil, err
	}
	seedDir, err := b.seedDir(work)
	if err != nil {
		return nil, err
	}
	res.Machine.SeedDir = seedDir
	s, err := makeTorrent(ctx, work, seedDir, cfg.Size, cfg.PieceLength, port)
	if err != nil {
		return nil, err
	}
	b.swarm = s
	res.Swarm.InfoHash = s.infoHash.String()
	res.Swarm.SHA256 = hexSum(s.sha256)
	if err := s.startTracker(ctx, &b.cl); err != nil {
		return nil, err
	}
	for i := range cfg.Seeders {
		if err := b.startSeeder(ctx, fmt.Sprintf("127.0.0.%d", 2+i), 0); err != nil {
			return nil, err
		}
	}
	for _, sd := range s.seeders {
		res.Swarm.Seeders = append(res.Swarm.Seeders, fmt.Sprintf("%s:%d", sd.ip, sd.port))
	}
	if cfg.UTPReset {
		rs, err := startUTPResetter()
		if err != nil {
			return nil, fmt.Errorf("%w (run as root, or pass -utp-reset=false)", err)
		}
		b.utp = rs
		b.cl.push(func() { rs.Close() })
		for _, sd := range s.seeders {
			rs.addSeeder(sd.addrPort())
		}
	} else {
		res.note("uTP SYNs to seeders NOT answered (-utp-reset=false): libtorrent clients wait for their uTP timeout before trying TCP")
	}
	b.canDrop = dropCaches() == nil
	if !b.canDrop {
		res.note("could not write /proc/sys/vm/drop_caches (not root?): runs are NOT page-cache cold")
	}
	res.Machine.PageCacheDropped = b.canDrop
	b.log.Info("swarm ready", "infohash", s.infoHash, "tracker", port, "seeders", res.Swarm.Seeders)

	src := testbytes.Reader(dataSeed, cfg.Size)
	seek := cfg.effectiveSeek()

	for r := range cfg.Runs {
		kinds := b.order(r)
		if cfg.has("first") {
			for _, k := range kinds {
				err := b.session(ctx, res, k, "first", func(ctx context.Context, mt *mount) error {
					d, err := readAt(mt.file, src, 0, 64<<10)
					if err != nil {
						return err
					}
					res.add("first_byte_ms", k, ms(d))
					res.add("mount_ms", k, ms(mt.ready.Sub(mt.started)))
					return nil
				})
				if err := b.failed(ctx, res, "first_byte_ms", k, err); err != nil {
					return res, err
				}
			}
		}
		if cfg.has("seek") {
			for _, k := range kinds {
				err := b.session(ctx, res, k, "seek", func(ctx context.Context, mt *mount) error {
					d, err := readAt(mt.file, src, seek, 64<<10)
					if err != nil {
						return err
					}
					res.add("seek_ms", k, ms(d))
					return nil
				})
				if err := b.failed(ctx, res, "seek_ms", k, err); err != nil {
					return res, err
				}
			}
		}
		if cfg.has("seq") {
			for _, k := range kinds {
				if err := b.failed(ctx, res, "seq_mbps", k, b.seqAndReread(ctx, res, k)); err != nil {
					return res, err
				}
			}
		}
	}
	if cfg.has("player") {
		if cfg.Throttle > 0 {
			ip := fmt.Sprintf("127.0.0.%d", 2+cfg.Seeders)
			if err := b.startSeeder(ctx, ip, cfg.Throttle); err != nil {
				return res, err
			}
			sd := s.seeders[len(s.seeders)-1]
			if b.utp != nil {
				b.utp.addSeeder(sd.addrPort())
			}
			res.Swarm.Throttled = fmt.Sprintf("%s:%d at %d B/s", sd.ip, sd.port, sd.rate)
			b.log.Info("throttled seeder ready", "addr", res.Swarm.Throttled)
		}
		popts := playerOptions{rate: cfg.PlayerRate, chunk: cfg.PlayerChunk, stall: cfg.Stall, cap: cfg.PlayerCap}
		for r := range cfg.Runs {
			for _, k := range b.order(r) {
				err := b.session(ctx, res, k, "player", func(ctx context.Context, mt *mount) error {
					pr, err := play(ctx, mt.file, src, cfg.Size, popts)
					if err != nil {
						return err
					}
					res.add("player_ttfb_ms", k, ms(pr.TTFB))
					res.add("player_stalls", k, float64(pr.Stalls))
					res.add("player_stall_s", k, pr.StallFor.Seconds())
					res.add("player_max_read_ms", k, ms(pr.MaxRead))
					res.add("player_played_s", k, pr.Played.Seconds())
					return nil
				})
				if err := b.failed(ctx, res, "player_ttfb_ms", k, err); err != nil {
					return res, err
				}
			}
		}
	}
	return res, nil
}

// finish records the end of the run in res.
func (b *bench) finish(res *results) {
	res.Finished = time.Now().UTC()
	res.Machine.LoadEnd = loadAvg()
	if b.utp != nil {
		res.note(fmt.Sprintf("uTP SYNs to the seeders answered with a uTP RESET: %d", b.utp.resets.Load()))
	}
}

// order alternates which filesystem goes first from run to run, so that
// neither always runs right after the other's background traffic.
func (b *bench) order(run int) []fsKind {
	k := append([]fsKind{}, b.cfg.Only...)
	if run%2 == 1 {
		for i, j := 0, len(k)-1; i < j; i, j = i+1, j-1 {
			k[i], k[j] = k[j], k[i]
		}
	}
	return k
}

// failed records a measurement's error and carries on, unless the whole
// benchmark was interrupted.
func (b *bench) failed(ctx context.Context, res *results, metric string, k fsKind, err error) error {
	if err == nil {
		return nil
	}
	if ctx.Err() != nil {
		return fmt.Errorf("interrupted: %w", ctx.Err())
	}
	b.log.Error("measurement failed", "fs", k, "metric", metric, "err", err)
	res.fail(metric, k, err)
	return nil
}

func (b *bench) mounter(k fsKind) mounter {
	if k == btFS {
		return mounter{kind: k, bin: b.cfg.BtfsBin, extra: b.cfg.BtfsArgs, logs: b.cfg.LogDir}
	}
	return mounter{kind: k, bin: b.cfg.TorrentFSBin, extra: b.cfg.TorrentFSArgs, logs: b.cfg.LogDir}
}

// scratch makes a new, empty state directory and mount point.
func (b *bench) scratch(k fsKind, scenario string) (state, mnt string, err error) {
	b.scenarioSeq++
	dir := filepath.Join(b.work, "runs", fmt.Sprintf("%03d-%s-%s", b.scenarioSeq, k, scenario))
	state, mnt = filepath.Join(dir, "state"), filepath.Join(dir, "mnt")
	for _, d := range []string{state, mnt} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return "", "", err
		}
	}
	return state, mnt, nil
}

// session measures fn on a fresh mount with an empty cache, after
// dropping the page cache, then unmounts and deletes the cache.
func (b *bench) session(ctx context.Context, res *results, k fsKind, scenario string, fn func(context.Context, *mount) error) error {
	state, mnt, err := b.scratch(k, scenario)
	if err != nil {
		return err
	}
	defer os.RemoveAll(filepath.Dir(state))
	return b.mounted(ctx, res, k, state, mnt, fn)
}

// mounted mounts with state, runs fn, and unmounts. If ctx ends or the
// timeout passes while fn is blocked in a read, the filesystem process is
// killed, which fails the read, and fn is waited for.
func (b *bench) mounted(ctx context.Context, res *results, k fsKind, state, mnt string, fn func(context.Context, *mount) error) (err error) {
	t0 := time.Now()
	if b.canDrop {
		if err := dropCaches(); err != nil {
			return err
		}
	}
	t1 := time.Now()
	var mt *mount
	defer func() {
		var stop time.Duration
		if mt != nil {
			stop = mt.stopTook.Round(time.Millisecond)
		}
		b.log.Info("measured", "fs", k, "dir", filepath.Base(filepath.Dir(state)), "drop_caches", t1.Sub(t0).Round(time.Millisecond),
			"total", time.Since(t0).Round(time.Millisecond), "stop", stop, "err", err)
	}()
	octx, cancel := context.WithTimeout(ctx, b.cfg.OpTimeout)
	defer cancel()
	mt, err = b.mounter(k).start(octx, b.swarm, state, mnt, time.Minute)
	if err != nil {
		return err
	}
	b.cl.push(func() { mt.kill() }) // no-op once stopped
	done := make(chan error, 1)
	go func() { done <- fn(octx, mt) }()
	select {
	case err = <-done:
	case <-octx.Done():
		mt.kill()
		<-done
		if ctx.Err() != nil {
			err = fmt.Errorf("interrupted: %w", ctx.Err())
		} else {
			err = fmt.Errorf("%s gave no answer within %v (-timeout): %w", k, b.cfg.OpTimeout, octx.Err())
		}
	}
	if err != nil && ctx.Err() == nil {
		err = fmt.Errorf("%w; the end of %s's output:\n%s", err, k, mt.proc.out.tail(2048))
	}
	if serr := mt.stop(); serr != nil {
		res.note(fmt.Sprintf("%s: stopping after %s: %v", k, filepath.Base(filepath.Dir(state)), serr))
	}
	if ctx.Err() == nil {
		res.add("stop_ms", k, ms(mt.stopTook))
	}
	return err
}

// seqAndReread reads the whole file on a fresh mount, samples the
// process's peak RSS and CPU time, then remounts with the same cache (or
// data directory) and reads it all again.
func (b *bench) seqAndReread(ctx context.Context, res *results, k fsKind) error {
	state, mnt, err := b.scratch(k, "seq")
	if err != nil {
		return err
	}
	defer os.RemoveAll(filepath.Dir(state))
	cfg := b.cfg
	err = b.mounted(ctx, res, k, state, mnt, func(ctx context.Context, mt *mount) error {
		peakAnon := sampleAnonRSS(mt.proc.pid(), 20*time.Millisecond)
		d, err := seqRead(ctx, mt.file, 1<<20, cfg.Size, b.swarm.sha256, cfg.HashDuring)
		anon := peakAnon()
		if err != nil {
			return err
		}
		u, err := readProcUsage(mt.proc.pid())
		if err != nil {
			return fmt.Errorf("reading /proc of %s: %w", k, err)
		}
		res.add("seq_mbps", k, mbps(cfg.Size, d))
		res.add("peak_rss_mib", k, float64(u.PeakRSS)/(1<<20))
		res.add("anon_rss_mib", k, float64(max(anon, u.AnonRSS))/(1<<20))
		res.add("cpu_s", k, u.CPU.Seconds())
		return nil
	})
	if err != nil {
		return err
	}
	err = b.mounted(ctx, res, k, state, mnt, func(ctx context.Context, mt *mount) error {
		d, err := seqRead(ctx, mt.file, 1<<20, cfg.Size, b.swarm.sha256, cfg.HashDuring)
		if err != nil {
			return err
		}
		res.add("reread_mbps", k, mbps(cfg.Size, d))
		return nil
	})
	if err != nil {
		return fmt.Errorf("re-read: %w", err)
	}
	return nil
}

// kill ends the filesystem process at once and unmounts lazily.
func (mt *mount) kill() {
	mt.proc.stop(syscall.SIGKILL, 0)
	ensureUnmounted(mt.dir)
}

// startSeeder starts a seeder of the kind -seeder asks for.
func (b *bench) startSeeder(ctx context.Context, ip string, rate int64) error {
	if b.cfg.SeederKind == "torrentfs" {
		return b.swarm.startTorrentFSSeeder(ctx, &b.cl, b.cfg.TorrentFSBin, ip, rate)
	}
	return b.swarm.startSeeder(ctx, &b.cl, ip, rate)
}

// dropCaches writes back every dirty page, then drops the page cache.
// Without the sync, what the last mount wrote would stay cached (dirty
// pages cannot be dropped) and be written back during the next
// measurement, competing with it.
func dropCaches() error {
	syscall.Sync()
	return os.WriteFile("/proc/sys/vm/drop_caches", []byte("3\n"), 0)
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func mbps(n int64, d time.Duration) float64 {
	if d <= 0 {
		return 0
	}
	return float64(n) / 1e6 / d.Seconds()
}
