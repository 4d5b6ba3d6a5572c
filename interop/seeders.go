package interop

import (
	"encoding/hex"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Loopback addresses for the roles in a swarm. libtorrent-based clients keep
// one peer per IP, so every peer gets its own address; torrentfs itself
// listens on 127.0.0.1.
const (
	LibtorrentIP   = "127.0.0.2"
	LibtorrentIP2  = "127.0.0.5"
	LeecherIP      = "127.0.0.6"
	TransmissionIP = "127.0.0.3"
	Aria2IP        = "127.0.0.4"
)

// SourceDir is the directory of this package's source (where seeder.py is).
func SourceDir() string {
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		panic("interop: cannot find source directory")
	}
	return filepath.Dir(file)
}

// StartLibtorrentSeeder runs seeder.py (python3-libtorrent, TCP only, no
// DHT/LSD/UPnP/NAT-PMP) on listenIP, seeding tt from tt.DataDir. It returns
// the seeder's listen port once libtorrent has checked the data and seeds.
func StartLibtorrentSeeder(t testing.TB, tt *Torrent, listenIP string) int {
	t.Helper()
	port, _ := StartLibtorrentSeederProc(t, tt, listenIP)
	return port
}

// StartLibtorrentSeederProc is StartLibtorrentSeeder that also returns the
// seeder's process, so a test can stop it early (Proc.Stop).
func StartLibtorrentSeederProc(t testing.TB, tt *Torrent, listenIP string) (int, *Proc) {
	t.Helper()
	return StartLibtorrentSeederOpts(t, tt, listenIP, SeederOptions{})
}

// SeederOptions adjusts StartLibtorrentSeederOpts.
type SeederOptions struct {
	DataDir string // instead of tt.DataDir
	// Partial lets DataDir hold only some of the data (see PartialDataDir):
	// the seeder serves the pieces that pass their check and downloads
	// nothing.
	Partial bool
}

// StartLibtorrentSeederOpts is StartLibtorrentSeeder with options.
func StartLibtorrentSeederOpts(t testing.TB, tt *Torrent, listenIP string, opts SeederOptions) (int, *Proc) {
	t.Helper()
	RequireLibtorrent(t)
	dataDir := tt.DataDir
	if opts.DataDir != "" {
		dataDir = opts.DataDir
	}
	args := []string{filepath.Join(SourceDir(), "seeder.py"), tt.Path, dataDir, listenIP}
	if opts.Partial {
		args = append(args, "partial")
	}
	p := StartProc(t, ProcOptions{Stdin: true}, Python3, args...)
	p.WaitOutput(t, "ready\n", 60*time.Second)
	for _, line := range strings.Split(p.Stdout(), "\n") {
		if s, ok := strings.CutPrefix(line, "port "); ok {
			port, err := strconv.Atoi(s)
			if err != nil {
				t.Fatalf("interop: seeder printed %q", line)
			}
			return port, p
		}
	}
	t.Fatalf("interop: seeder printed no port:\n%s", p.Stdout())
	return 0, nil
}

// PartialDataDir copies tt's data to a new directory, leaving out the
// files with the given indexes (into tt.Spec.Files), for a partial seeder.
func PartialDataDir(t testing.TB, tt *Torrent, without ...int) string {
	t.Helper()
	dir := t.TempDir()
	skip := map[int]bool{}
	for _, i := range without {
		skip[i] = true
	}
	for i := range tt.Spec.Files {
		if skip[i] {
			continue
		}
		dst := tt.FilePath(dir, i)
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := copyFile(dst, tt.FilePath(tt.DataDir, i), 0o644); err != nil {
			t.Fatalf("interop: %v", err)
		}
	}
	return dir
}

// StartTransmissionSeeder runs transmission-daemon with DHT, LPD, PEX,
// port forwarding and uTP off, peers on listenIP and RPC on 127.0.0.1, and
// adds each torrent with its data in place so that it verifies and seeds.
// It returns the peer port once transmission reports every torrent
// complete. Note that transmission takes about 13 s to start serving a new
// peer, so tests share one daemon (it can seed several torrents).
func StartTransmissionSeeder(t testing.TB, listenIP string, tts ...*Torrent) int {
	t.Helper()
	daemon := RequireTool(t, "transmission-daemon", "transmission-daemon")
	remote := RequireTool(t, "transmission-remote", "transmission-cli")
	cfg := t.TempDir()
	peerPort := FreePort(t, listenIP)
	rpcPort := FreePort(t, "127.0.0.1")
	settings := map[string]any{
		"dht-enabled":                    false,
		"lpd-enabled":                    false,
		"pex-enabled":                    false,
		"utp-enabled":                    false,
		"port-forwarding-enabled":        false,
		"bind-address-ipv4":              listenIP,
		"bind-address-ipv6":              "::1",
		"peer-port":                      peerPort,
		"peer-port-random-on-start":      false,
		"rpc-enabled":                    true,
		"rpc-bind-address":               "127.0.0.1",
		"rpc-port":                       rpcPort,
		"rpc-authentication-required":    false,
		"rpc-whitelist-enabled":          true,
		"rpc-whitelist":                  "127.0.0.1",
		"rpc-host-whitelist-enabled":     false,
		"download-dir":                   cfg,
		"incomplete-dir-enabled":         false,
		"watch-dir-enabled":              false,
		"start-added-torrents":           true,
		"ratio-limit-enabled":            false,
		"idle-seeding-limit-enabled":     false,
		"speed-limit-up-enabled":         false,
		"alt-speed-enabled":              false,
		"blocklist-enabled":              false,
		"encryption":                     1, // prefer plaintext, accept either
		"message-level":                  2,
		"scrape-paused-torrents-enabled": false,
	}
	js, err := json.MarshalIndent(settings, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(cfg, "settings.json"), js, 0o600); err != nil {
		t.Fatal(err)
	}
	p := StartProc(t, ProcOptions{}, daemon, "-f", "-g", cfg)

	rpc := "127.0.0.1:" + strconv.Itoa(rpcPort)
	for _, tt := range tts {
		addTransmissionTorrent(t, p, remote, rpc, tt)
	}
	for _, tt := range tts {
		waitTransmissionSeeding(t, p, remote, rpc, tt)
	}
	return peerPort
}

func addTransmissionTorrent(t testing.TB, p *Proc, remote, rpc string, tt *Torrent) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		// -w after -a sets this torrent's download dir.
		out, err := exec.Command(remote, rpc, "-a", tt.Path, "-w", tt.DataDir).CombinedOutput()
		if err == nil && strings.Contains(string(out), "success") {
			return
		}
		if p.Exited() || time.Now().After(deadline) {
			t.Fatalf("interop: transmission-remote -a %s: %v: %s\ndaemon stderr:\n%s", tt.Path, err, out, tail(p.Stderr(), 8192))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func waitTransmissionSeeding(t testing.TB, p *Proc, remote, rpc string, tt *Torrent) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		out, err := exec.Command(remote, rpc, "-t", hex.EncodeToString(tt.InfoHash[:]), "-i").CombinedOutput()
		s := string(out)
		// "Idle" is how transmission 3 shows a seeding torrent with no peers.
		if err == nil && strings.Contains(s, "Percent Done: 100%") &&
			(strings.Contains(s, "State: Seeding") || strings.Contains(s, "State: Idle")) {
			return
		}
		if err == nil && strings.Contains(s, "Error:") && !strings.Contains(s, "Error: None") {
			t.Fatalf("interop: transmission cannot seed %s:\n%s", tt.Path, s)
		}
		if p.Exited() || time.Now().After(deadline) {
			t.Fatalf("interop: transmission not seeding %s: %v\n%s\ndaemon stderr:\n%s", tt.Path, err, s, tail(p.Stderr(), 8192))
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// Aria2Download downloads tt with aria2c into a new directory, as a peer on
// listenIP with DHT, LPD and PEX off, and returns the directory. It fails t
// if aria2c fails or takes longer than timeout.
func Aria2Download(t testing.TB, tt *Torrent, listenIP string, timeout time.Duration) string {
	t.Helper()
	bin := RequireTool(t, "aria2c", "aria2")
	dir := t.TempDir()
	port := FreePort(t, listenIP)
	p := StartProc(t, ProcOptions{}, bin,
		"--enable-dht=false", "--enable-dht6=false",
		"--bt-enable-lpd=false", "--enable-peer-exchange=false",
		"--seed-time=0", "--bt-tracker-connect-timeout=5", "--bt-tracker-timeout=10",
		"--bt-stop-timeout="+strconv.Itoa(int(timeout/time.Second)),
		"--interface="+listenIP, "--listen-port="+strconv.Itoa(port),
		"--disable-ipv6=true", "--no-netrc=true", "--no-conf=true",
		"--file-allocation=none", "--summary-interval=0", "--console-log-level=warn",
		"--check-certificate=false", "--follow-torrent=false",
		"--dir="+dir, tt.Path)
	ctx, cancel := contextWithTimeout(timeout)
	defer cancel()
	code, err := p.Wait(ctx)
	if err != nil || code != 0 {
		t.Fatalf("interop: aria2c exit %d: %v\nstdout:\n%s\nstderr:\n%s", code, err, tail(p.Stdout(), 4096), tail(p.Stderr(), 4096))
	}
	return dir
}

// LibtorrentDownload downloads tt with leecher.py (python3-libtorrent, TCP
// only) into a new directory as a peer on listenIP, and returns the
// directory. libtorrent checks every piece it receives; the caller still
// compares the files.
func LibtorrentDownload(t testing.TB, tt *Torrent, listenIP string, timeout time.Duration) string {
	t.Helper()
	RequireLibtorrent(t)
	dir := t.TempDir()
	p := StartProc(t, ProcOptions{Stdin: true}, Python3, filepath.Join(SourceDir(), "leecher.py"),
		tt.Path, dir, listenIP, strconv.Itoa(int(timeout/time.Second)))
	ctx, cancel := contextWithTimeout(timeout + 10*time.Second)
	defer cancel()
	code, err := p.Wait(ctx)
	if err != nil || code != 0 || !strings.Contains(p.Stdout(), "complete") {
		t.Fatalf("interop: libtorrent leecher exit %d: %v\nstdout:\n%s\nstderr:\n%s", code, err, tail(p.Stdout(), 4096), tail(p.Stderr(), 8192))
	}
	return dir
}
