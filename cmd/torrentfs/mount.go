package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"os"
	"os/signal"
	"path"
	"strings"
	"syscall"
	"time"

	"github.com/torrentfs/torrentfs/metainfo"
)

// shutdownTimeout bounds unmounting and leaving the swarm.
const shutdownTimeout = 15 * time.Second

// peerList is a repeatable --peer flag.
type peerList []netip.AddrPort

func (p *peerList) String() string {
	s := make([]string, len(*p))
	for i, a := range *p {
		s[i] = a.String()
	}
	return strings.Join(s, ",")
}

func (p *peerList) Set(v string) error {
	a, err := netip.ParseAddrPort(v)
	if err != nil {
		return fmt.Errorf("want IP:PORT: %v", err)
	}
	*p = append(*p, a)
	return nil
}

// addSessionFlags registers the flags mount and demo share.
func addSessionFlags(fs *flag.FlagSet, cfg *sessionConfig, level *logLevelFlag) {
	fs.StringVar(&cfg.CacheDir, "cache-dir", defaultCacheDir(), "where verified pieces are kept across mounts")
	fs.Var((*cacheSizeFlag)(cfg), "cache-size", "most disk space the cache may use, like 512MiB, 10GiB or 1.5GB (default: 10GiB or a quarter\n"+
		"of the free space, whichever is smaller); counts everything in the directory as du does")
	fs.BoolVar(&cfg.WipeCache, "wipe-cache", false, "empty the cache directory first (refused if it holds files torrentfs did not create)")
	fs.StringVar(&cfg.Listen, "listen", ":0", "address to accept peers on, like 127.0.0.1:0 or :6881")
	fs.DurationVar(&cfg.ReadTimeout, "read-timeout", 0, "fail a read with EIO after waiting this long for its pieces (0: wait, like a slow disk)")
	fs.BoolVar(&cfg.AllowOther, "allow-other", false, "let other users read the mount (non-root needs user_allow_other in /etc/fuse.conf)")
	fs.BoolVar(&cfg.DebugFUSE, "debug-fuse", false, "log every FUSE request (with --log-level debug)")
	fs.Var(level, "log-level", "debug, info, warn or error")
	fs.StringVar(&cfg.CPUProfile, "cpu-profile", "", "write a Go CPU profile to this file while mounted (%p: the process id)")
	fs.BoolVar(&cfg.Prefetch, "prefetch", false, "also fetch the whole torrent in the background, after what is being read")
	fs.BoolVar(&cfg.NoProbe, "no-media-probe", false, "do not fetch a media file's head and tail first when it is opened")
	fs.Var((*rateFlag)(&cfg.UploadRate), "upload-rate", "most bytes per second sent to other peers, like 1MiB or 500KB (default: unlimited)")
	fs.IntVar(&cfg.UploadSlots, "upload-slots", 0, "peers unchoked for their rate, besides one optimistic unchoke (default 4)")
	fs.DurationVar(&cfg.MetaTimeout, "metadata-timeout", 5*time.Minute, "how long a magnet link may take to get its metadata from peers")
}

// rateFlag is a bytes-per-second flag written like a size.
type rateFlag int64

func (f *rateFlag) String() string {
	if f == nil || *f == 0 {
		return ""
	}
	return sizeString(int64(*f)) + "/s"
}

func (f *rateFlag) Set(s string) error {
	n, err := parseSize(strings.TrimSuffix(s, "/s"))
	if err != nil {
		return err
	}
	*f = rateFlag(n)
	return nil
}

// cacheSizeFlag sets sessionConfig.CacheSize.
type cacheSizeFlag sessionConfig

func (f *cacheSizeFlag) String() string {
	if f == nil {
		return ""
	}
	return (&sizeFlag{f.CacheSize}).String()
}

func (f *cacheSizeFlag) Set(s string) error {
	var sf sizeFlag
	if err := sf.Set(s); err != nil {
		return err
	}
	f.CacheSize = sf.n
	return nil
}

func runMount(args []string, stdout, stderr io.Writer) error {
	cfg := sessionConfig{}
	level := &logLevelFlag{level: slog.LevelWarn}
	var peers peerList
	fs := newFlagSet("mount", "torrentfs mount [flags] <file.torrent|magnet:…> <mountpoint>",
		"  mkdir -p ~/t && torrentfs mount --cache-dir /var/cache/torrentfs ubuntu.torrent ~/t\n"+
			"  mpv ~/t/ubuntu.iso        # reads start at once; Ctrl-C or 'umount ~/t' to stop\n"+
			"  torrentfs mount 'magnet:?xt=urn:btih:…&tr=…' ~/t   # waits for the metadata, then mounts", stderr)
	addSessionFlags(fs, &cfg, level)
	fs.Var(&peers, "peer", "connect to this peer (IP:PORT) as well as the trackers' (repeatable)")
	var dhtf dhtFlags
	dhtf.add(fs)
	if err := parseFlags(fs, args, 2, "a .torrent file or magnet link, and a mount point"); err != nil {
		return err
	}
	cfg.Logger = level.logger(stderr)
	cfg.Peers = peers
	cfg.DHT = dhtf.nodes()
	src, err := loadSource(fs.Arg(0))
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return mountAndWait(ctx, cfg, src, fs.Arg(1), stderr)
}

// mountAndWait mounts mi at dir and serves it until ctx ends (a signal) or
// the mount is unmounted from outside, then shuts down cleanly.
func mountAndWait(ctx context.Context, cfg sessionConfig, src source, dir string, stderr io.Writer) error {
	tuneGC()
	stopProfile, err := startCPUProfile(cfg.CPUProfile)
	if err != nil {
		return err
	}
	defer stopProfile()
	s, err := startSession(ctx, cfg, src, dir, stderr)
	if err != nil {
		return err
	}
	mi := s.mi
	fmt.Fprintf(stderr, "torrentfs: mounted %s (%s) at %s; Ctrl-C or 'umount %s' to stop\n",
		mountedName(mi), sizeString(mi.Info.TotalLength), dir, dir)
	unmounted := make(chan struct{})
	go func() {
		s.srv.Wait()
		close(unmounted)
	}()
	select {
	case <-ctx.Done():
	case <-unmounted:
	}
	sctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	err = s.close(sctx)
	<-unmounted
	if err != nil {
		return fmt.Errorf("shutting down: %w", err)
	}
	fmt.Fprintf(stderr, "torrentfs: unmounted %s\n", dir)
	return nil
}

// mountedName is what appears at the mount root for mi.
func mountedName(mi *metainfo.MetaInfo) string {
	if mi.Info.MultiFile {
		return mi.Info.Name + "/"
	}
	return path.Join(mi.Info.Files[0].Path...)
}
