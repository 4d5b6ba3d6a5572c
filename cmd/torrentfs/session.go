package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"time"

	"github.com/torrentfs/torrentfs/fetcher"
	"github.com/torrentfs/torrentfs/fs"
	"github.com/torrentfs/torrentfs/metainfo"
	"github.com/torrentfs/torrentfs/piececache"
)

// sessionConfig is what a mount needs, from flags or from the demo.
type sessionConfig struct {
	Logger      *slog.Logger
	CacheDir    string
	CacheSize   int64 // bytes; 0: defaultCacheSize(CacheDir)
	WipeCache   bool  // delete the cache's contents before opening it
	Listen      string
	ReadTimeout time.Duration
	AllowOther  bool
	DebugFUSE   bool
	Peers       []netip.AddrPort // connected to at once, besides trackers'
	CPUProfile  string           // write a CPU profile here while mounted
	Prefetch    bool             // fetch the whole torrent in the background
	NoProbe     bool             // do not fetch media files' head and tail on open
	UploadRate  int64            // bytes per second to peers; 0: unlimited
	UploadSlots int              // peers unchoked for their rate; 0: the default
	MetaTimeout time.Duration    // how long a magnet may take to give its metadata
	DHT         []string         // DHT bootstrap nodes; nil: no DHT
}

// session is a mounted torrent: its cache, client and FUSE server.
type session struct {
	log    *slog.Logger
	cache  *piececache.Cache
	dht    *dhtNode // nil without the DHT
	client *fetcher.Client
	tor    *fetcher.Torrent
	srv    *fs.Server
	mi     *metainfo.MetaInfo
}

// startSession opens the cache, joins the swarm, resolves src (a magnet's
// metadata) and mounts it at dir, reporting progress on w. On error
// everything it started is stopped again.
func startSession(ctx context.Context, cfg sessionConfig, src source, dir string, w io.Writer) (_ *session, err error) {
	if st, err := os.Stat(dir); err != nil {
		return nil, fmt.Errorf("mount point: %w", err)
	} else if !st.IsDir() {
		return nil, fmt.Errorf("mount point %s is not a directory", dir)
	}
	if _, err := os.Stat("/dev/fuse"); err != nil {
		return nil, fmt.Errorf("FUSE is not available (%w); load the fuse module or run where /dev/fuse exists", err)
	}
	if err := os.MkdirAll(cfg.CacheDir, 0o700); err != nil {
		return nil, fmt.Errorf("cache directory: %w", err)
	}
	s := &session{log: cfg.Logger}
	defer func() {
		if err != nil {
			s.close(context.Background())
		}
	}()
	s.cache, err = openCache(cfg)
	if err != nil {
		return nil, err
	}
	s.dht = startDHT(cfg.Listen, cfg.DHT, cfg.Logger.With("pkg", "dht"))
	s.client, err = fetcher.New(fetcher.Options{
		DHT:             s.dht.finder(),
		Logger:          cfg.Logger.With("pkg", "fetcher"),
		ListenAddr:      cfg.Listen,
		Storage:         s.cache,
		ReadTimeout:     cfg.ReadTimeout,
		Background:      cfg.Prefetch,
		NoMediaProbe:    cfg.NoProbe,
		UploadRateLimit: cfg.UploadRate,
		UploadSlots:     cfg.UploadSlots,
	})
	if err != nil {
		return nil, err
	}
	mi, err := src.resolve(ctx, s.client, s.cache, cfg.MetaTimeout, w)
	if err != nil {
		return nil, err
	}
	s.mi = mi
	s.tor, err = s.client.AddTorrent(ctx, mi)
	if err != nil {
		return nil, err
	}
	// Kept so that "torrentfs cache verify" can re-hash the pieces and
	// "cache stats" can name the torrent; losing it costs only that.
	if err := s.cache.PutTorrentInfo(ctx, mi.InfoHash, mi.InfoBytes); err != nil {
		cfg.Logger.Warn("cannot store the torrent's info in the cache", "err", err)
	}
	s.tor.AddPeers(cfg.Peers...)
	s.srv, err = fs.Mount(dir, fs.Options{
		Logger:     cfg.Logger.With("pkg", "fs"),
		Debug:      cfg.DebugFUSE,
		AllowOther: cfg.AllowOther,
	})
	if err != nil {
		return nil, err
	}
	if err := s.srv.AddTorrent(newFSTorrent(s.tor)); err != nil {
		return nil, err
	}
	return s, nil
}

// openCache opens the cache as cfg says, wiping it first if asked, and
// turns a damaged or incompatible cache into advice.
func openCache(cfg sessionConfig) (*piececache.Cache, error) {
	if cfg.WipeCache {
		if err := piececache.Wipe(cfg.CacheDir); err != nil {
			return nil, err
		}
		cfg.Logger.Info("wiped the cache", "dir", cfg.CacheDir)
	}
	size := cfg.CacheSize
	if size == 0 {
		size = defaultCacheSize(cfg.CacheDir)
	}
	c, err := piececache.Open(cfg.CacheDir, piececache.Options{Logger: cfg.Logger.With("pkg", "piececache"), MaxBytes: size})
	if errors.Is(err, piececache.ErrDamaged) || errors.Is(err, piececache.ErrVersion) {
		return nil, fmt.Errorf("%w (run with --wipe-cache to empty it and start afresh)", err)
	}
	return c, err
}

// close unmounts (failing reads still blocked), leaves the swarm (the
// client, then the DHT) and closes the cache, in that order. It is safe on a half-started session.
func (s *session) close(ctx context.Context) error {
	var errs []error
	if s.srv != nil {
		if err := s.srv.Unmount(ctx); err != nil {
			errs = append(errs, err)
		}
	}
	if s.client != nil {
		errs = append(errs, s.client.Close())
	}
	if s.dht != nil {
		errs = append(errs, s.dht.close())
	}
	if s.cache != nil {
		errs = append(errs, s.cache.Close())
	}
	return errors.Join(errs...)
}

// defaultCacheDir is the user's cache directory plus "torrentfs".
func defaultCacheDir() string {
	d, err := os.UserCacheDir()
	if err != nil {
		d = filepath.Join(os.TempDir(), "torrentfs-cache")
		return d
	}
	return filepath.Join(d, "torrentfs")
}
