package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"fmt"
	"io"
	"math/bits"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"github.com/torrentfs/torrentfs/internal/testbytes"
	"github.com/torrentfs/torrentfs/metainfo"
)

//go:embed seeder.py
var seederPy []byte

// python3 is the interpreter that has Debian's python3-libtorrent (a
// python3 earlier in PATH, from pyenv say, may not).
const python3 = "/usr/bin/python3"

// dataSeed seeds the deterministic bytes of the benchmark's file.
const dataSeed = 0x5eed5eed

// swarm is the benchmark's torrent, tracker and seeders.
type swarm struct {
	dir         string // holds the data file, the .torrent and the tracker's files
	name        string // the file's name in the torrent (and in a mount)
	dataPath    string
	torrentPath string
	size        int64
	sha256      [32]byte
	infoHash    metainfo.InfoHash
	trackerPort int
	seeders     []seeder
}

type seeder struct {
	ip   string
	port int
	rate int64 // upload limit in bytes/s, 0 for none
}

func (s seeder) addrPort() netip.AddrPort {
	return netip.AddrPortFrom(netip.MustParseAddr(s.ip), uint16(s.port))
}

// makeTorrent writes size deterministic bytes to seedDir/name and makes a
// .torrent of them with mktorrent in dir, announcing to a tracker on
// 127.0.0.1:trackerPort.
func makeTorrent(ctx context.Context, dir, seedDir string, size, pieceLen int64, trackerPort int) (*swarm, error) {
	mktorrent, err := lookTool("mktorrent", "mktorrent")
	if err != nil {
		return nil, err
	}
	if pieceLen <= 0 || pieceLen&(pieceLen-1) != 0 {
		return nil, fmt.Errorf("piece length %d is not a power of two", pieceLen)
	}
	s := &swarm{
		dir:         dir,
		name:        fmt.Sprintf("stream-%s.bin", sizeName(size)),
		size:        size,
		trackerPort: trackerPort,
	}
	s.dataPath = filepath.Join(seedDir, s.name)
	s.torrentPath = filepath.Join(dir, "stream.torrent")
	if err := os.MkdirAll(filepath.Dir(s.dataPath), 0o755); err != nil {
		return nil, err
	}
	f, err := os.Create(s.dataPath)
	if err != nil {
		return nil, err
	}
	h := sha256.New()
	if _, err := io.Copy(io.MultiWriter(f, h), io.LimitReader(testbytes.Reader(dataSeed, size), size)); err != nil {
		f.Close()
		return nil, fmt.Errorf("writing %s: %w", s.dataPath, err)
	}
	if err := f.Sync(); err != nil { // so that dropping the page cache drops it
		f.Close()
		return nil, err
	}
	if err := f.Close(); err != nil {
		return nil, err
	}
	copy(s.sha256[:], h.Sum(nil))

	announce := fmt.Sprintf("http://127.0.0.1:%d/announce", trackerPort)
	cmd := exec.CommandContext(ctx, mktorrent, "-l", strconv.Itoa(bits.TrailingZeros64(uint64(pieceLen))),
		"-a", announce, "-o", s.torrentPath, s.dataPath)
	if out, err := cmd.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("mktorrent: %w\n%s", err, out)
	}
	mi, err := metainfo.ReadFile(s.torrentPath)
	if err != nil {
		return nil, err
	}
	if mi.Info.TotalLength != size || mi.Info.PieceLength != pieceLen || mi.Info.MultiFile {
		return nil, fmt.Errorf("mktorrent made %d bytes in %d-byte pieces (multi-file %v), want %d in %d",
			mi.Info.TotalLength, mi.Info.PieceLength, mi.Info.MultiFile, size, pieceLen)
	}
	s.infoHash = mi.InfoHash
	return s, nil
}

// startTracker runs Debian's opentracker (built in whitelist mode) on
// 127.0.0.1:trackerPort, whitelisting the swarm's info hash, and returns
// once it accepts announces for it.
func (s *swarm) startTracker(ctx context.Context, cl *cleanups) error {
	bin, err := lookTool("opentracker", "opentracker")
	if err != nil {
		return err
	}
	root := filepath.Join(s.dir, "tracker-root")
	if err := os.Mkdir(root, 0o755); err != nil {
		return err
	}
	// opentracker chroots to root and reads the whitelist as nobody, so the
	// list's path is inside the chroot and both must be world-readable.
	if err := os.Chmod(root, 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(root, "whitelist.txt"), []byte(s.infoHash.String()+"\n"), 0o644); err != nil {
		return err
	}
	wl := "/whitelist.txt"
	if os.Geteuid() != 0 {
		wl = filepath.Join(root, "whitelist.txt") // no chroot without root
	}
	conf := filepath.Join(s.dir, "opentracker.conf")
	if err := os.WriteFile(conf, fmt.Appendf(nil, "access.whitelist %s\ntracker.rootdir %s\n", wl, root), 0o644); err != nil {
		return err
	}
	port := strconv.Itoa(s.trackerPort)
	p, err := startProc(bin, procOptions{}, "-f", conf, "-i", "127.0.0.1", "-p", port, "-P", port)
	if err != nil {
		return err
	}
	cl.push(func() { p.stop(syscall.SIGTERM, 5*time.Second) })
	deadline := time.Now().Add(20 * time.Second)
	for {
		err := s.probeTracker(ctx)
		if err == nil {
			return nil
		}
		if p.exited() {
			return fmt.Errorf("opentracker: %w", p.exitErr())
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("opentracker does not accept %s after 20s: %w\n%s", s.infoHash, err, p.out.tail(2048))
		}
		if err := sleepCtx(ctx, 50*time.Millisecond); err != nil {
			return err
		}
	}
}

// probeTracker announces a dummy peer and withdraws it: it fails until
// opentracker has loaded its whitelist.
func (s *swarm) probeTracker(ctx context.Context) error {
	body, err := s.trackerGet(ctx, s.announceQuery(9, "started"))
	if err != nil {
		return err
	}
	if bytes.Contains(body, []byte("failure reason")) {
		return fmt.Errorf("opentracker refused: %q", body)
	}
	_, err = s.trackerGet(ctx, s.announceQuery(9, "stopped"))
	return err
}

func (s *swarm) announceQuery(port int, event string) string {
	return fmt.Sprintf("/announce?info_hash=%s&peer_id=-SB0001-streambench0&port=%d&uploaded=0&downloaded=0&left=1&compact=1&numwant=0&event=%s",
		url.QueryEscape(string(s.infoHash[:])), port, event)
}

// trackerSeeders is opentracker's count of seeders ("complete").
func (s *swarm) trackerSeeders(ctx context.Context) (int, error) {
	body, err := s.trackerGet(ctx, "/scrape?info_hash="+url.QueryEscape(string(s.infoHash[:])))
	if err != nil {
		return 0, err
	}
	_, after, ok := bytes.Cut(body, []byte("8:completei"))
	if !ok {
		return 0, nil
	}
	end := bytes.IndexByte(after, 'e')
	if end < 0 {
		return 0, fmt.Errorf("bad scrape reply %q", body)
	}
	return strconv.Atoi(string(after[:end]))
}

func (s *swarm) trackerGet(ctx context.Context, path string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, "GET", fmt.Sprintf("http://127.0.0.1:%d%s", s.trackerPort, path), nil)
	if err != nil {
		return nil, err
	}
	c := &http.Client{Transport: &http.Transport{DisableKeepAlives: true, Proxy: nil}}
	resp, err := c.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	return io.ReadAll(io.LimitReader(resp.Body, 1<<20))
}

// startSeeder runs a python3-libtorrent seeder on ip (TCP only, seed mode)
// with an upload limit of rate bytes/s (0: none), and waits until the
// tracker lists one more seeder.
func (s *swarm) startSeeder(ctx context.Context, cl *cleanups, ip string, rate int64) error {
	if _, err := os.Stat(python3); err != nil {
		return fmt.Errorf("%s not found (apt-get install python3-libtorrent): %w", python3, err)
	}
	script := filepath.Join(s.dir, "seeder.py")
	if err := os.WriteFile(script, seederPy, 0o755); err != nil {
		return err
	}
	before, _ := s.trackerSeeders(ctx)
	p, err := startProc(python3, procOptions{stdin: true}, script, s.torrentPath, filepath.Dir(s.dataPath), ip, strconv.FormatInt(rate, 10))
	if err != nil {
		return err
	}
	cl.push(func() { p.stop(syscall.SIGTERM, 5*time.Second) })
	if _, err := p.waitLine(ctx, "ready", 60*time.Second); err != nil {
		return fmt.Errorf("seeder on %s: %w", ip, err)
	}
	portStr, err := p.waitLine(ctx, "port ", time.Second)
	if err != nil {
		return err
	}
	port, err := strconv.Atoi(portStr)
	if err != nil {
		return fmt.Errorf("seeder printed port %q", portStr)
	}
	s.seeders = append(s.seeders, seeder{ip: ip, port: port, rate: rate})
	return s.waitListed(ctx, p, ip, before)
}

// startTorrentFSSeeder runs torrentfs (bin) as a seeder on ip: its cache,
// of its own, is filled with "torrentfs cache import" from the data file,
// and it is mounted (mounting is how torrentfs runs) with an upload limit
// of rate bytes/s (0: none). It returns once the tracker lists it.
func (s *swarm) startTorrentFSSeeder(ctx context.Context, cl *cleanups, bin, ip string, rate int64) error {
	// Beside the data, on tmpfs by default (see -seed-dir), so that
	// dropping the page cache leaves the seeders as fast as before.
	cache := filepath.Join(filepath.Dir(s.dataPath), "seed-cache-"+ip)
	mnt := filepath.Join(s.dir, "seed-mnt-"+ip)
	if err := os.MkdirAll(mnt, 0o755); err != nil {
		return err
	}
	size := max(2*s.size, 128<<20)
	out, err := exec.CommandContext(ctx, bin, "cache", "import", "--cache-dir", cache, "--cache-size", strconv.FormatInt(size, 10),
		s.torrentPath, filepath.Dir(s.dataPath)).CombinedOutput()
	if err != nil {
		return fmt.Errorf("torrentfs cache import for the seeder on %s: %w\n%s", ip, err, out)
	}
	port, err := freePort(ip)
	if err != nil {
		return err
	}
	before, _ := s.trackerSeeders(ctx)
	args := []string{"mount", "--cache-dir", cache, "--cache-size", strconv.FormatInt(size, 10), "--listen", fmt.Sprintf("%s:%d", ip, port)}
	if rate > 0 {
		args = append(args, "--upload-rate", strconv.FormatInt(rate, 10))
	}
	p, err := startProc(bin, procOptions{grace: 10 * time.Second}, append(args, s.torrentPath, mnt)...)
	if err != nil {
		return err
	}
	cl.push(func() {
		p.stop(syscall.SIGTERM, 10*time.Second)
		ensureUnmounted(mnt)
	})
	s.seeders = append(s.seeders, seeder{ip: ip, port: port, rate: rate})
	return s.waitListed(ctx, p, ip, before)
}

// waitListed waits until the tracker lists more than before seeders, the
// newest being p's on ip.
func (s *swarm) waitListed(ctx context.Context, p *proc, ip string, before int) error {
	deadline := time.Now().Add(20 * time.Second)
	for {
		n, err := s.trackerSeeders(ctx)
		if err == nil && n > before {
			return nil
		}
		if p.exited() {
			return fmt.Errorf("seeder on %s: %w", ip, p.exitErr())
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("tracker lists %d seeders 20s after the seeder on %s started (err %v)", n, ip, err)
		}
		if err := sleepCtx(ctx, 50*time.Millisecond); err != nil {
			return err
		}
	}
}

// freePort returns a port free for both TCP and UDP on ip right now.
func freePort(ip string) (int, error) {
	for range 50 {
		ln, err := net.Listen("tcp", net.JoinHostPort(ip, "0"))
		if err != nil {
			return 0, err
		}
		port := ln.Addr().(*net.TCPAddr).Port
		ln.Close()
		pc, err := net.ListenPacket("udp", net.JoinHostPort(ip, strconv.Itoa(port)))
		if err != nil {
			continue
		}
		pc.Close()
		return port, nil
	}
	return 0, fmt.Errorf("no free TCP+UDP port on %s", ip)
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

func hexSum(b [32]byte) string { return hex.EncodeToString(b[:]) }

// defaultSeedDir is /dev/shm when it is there: the seeders stand in for
// remote peers, whose disks are not the machine under test's.
func defaultSeedDir() string {
	if st, err := os.Stat("/dev/shm"); err == nil && st.IsDir() {
		return "/dev/shm"
	}
	return ""
}

// seedDir makes a fresh directory for the seeders' data under cfg.SeedDir
// (under work when that is empty) and has it removed at the end.
func (b *bench) seedDir(work string) (string, error) {
	if b.cfg.SeedDir == "" {
		d := filepath.Join(work, "data")
		return d, os.MkdirAll(d, 0o755)
	}
	d, err := os.MkdirTemp(b.cfg.SeedDir, "streambench-seed-")
	if err != nil {
		return "", fmt.Errorf("seed directory: %w", err)
	}
	if !b.cfg.Keep {
		b.cl.push(func() { os.RemoveAll(d) })
	}
	return d, nil
}
