package tracker

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/torrentfs/torrentfs/internal/testbytes"
)

// opentracker is Debian's opentracker serving HTTP and UDP on 127.0.0.1.
type opentracker struct {
	port   int
	stderr string // path of its stderr log
	exited chan struct{}
}

func (o *opentracker) httpURL() string { return fmt.Sprintf("http://127.0.0.1:%d/announce", o.port) }
func (o *opentracker) udpURL() string  { return fmt.Sprintf("udp://127.0.0.1:%d/announce", o.port) }

func (o *opentracker) log() string {
	b, _ := os.ReadFile(o.stderr)
	return string(b)
}

// startOpentracker runs opentracker whitelisting infoHashes. Debian builds
// it in whitelist mode; it reads the list from inside its chroot a moment
// after it starts, so callers poll until it accepts their torrent. The
// process is killed and waited for when the test ends.
func startOpentracker(t *testing.T, infoHashes ...[20]byte) *opentracker {
	t.Helper()
	bin, err := exec.LookPath("opentracker")
	if err != nil {
		if os.Getenv("TORRENTFS_REQUIRE_INTEROP") != "" {
			t.Fatalf("opentracker not found (TORRENTFS_REQUIRE_INTEROP is set): %v", err)
		}
		t.Skipf("opentracker not installed (apt-get install opentracker); set TORRENTFS_REQUIRE_INTEROP=1 to fail instead: %v", err)
	}
	dir := t.TempDir()
	root := filepath.Join(dir, "root")
	if err := os.Mkdir(root, 0o755); err != nil {
		t.Fatal(err)
	}
	var wl []byte
	for _, ih := range infoHashes {
		wl = append(wl, hex.EncodeToString(ih[:])+"\n"...)
	}
	// As root, opentracker chroots to root and drops to "nobody" before it
	// reads the whitelist: the path is inside the chroot, world-readable.
	wlPath := "/whitelist"
	if os.Geteuid() != 0 {
		wlPath = filepath.Join(root, "whitelist") // no chroot without root
	}
	if err := os.WriteFile(filepath.Join(root, "whitelist"), wl, 0o644); err != nil {
		t.Fatal(err)
	}
	conf := filepath.Join(dir, "opentracker.conf")
	if err := os.WriteFile(conf, fmt.Appendf(nil, "access.whitelist %s\ntracker.rootdir %s\n", wlPath, root), 0o644); err != nil {
		t.Fatal(err)
	}
	o := &opentracker{port: freePort(t), stderr: filepath.Join(dir, "stderr"), exited: make(chan struct{})}
	errFile, err := os.Create(o.stderr)
	if err != nil {
		t.Fatal(err)
	}
	defer errFile.Close()
	port := strconv.Itoa(o.port)
	cmd := exec.Command(bin, "-f", conf, "-i", "127.0.0.1", "-p", port, "-P", port)
	cmd.Stdout, cmd.Stderr = errFile, errFile
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { // owned by the test: ends when the process does
		defer close(o.exited)
		cmd.Wait()
	}()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-o.exited
	})
	return o
}

// freePort returns a port free for both TCP and UDP on 127.0.0.1.
func freePort(t *testing.T) int {
	t.Helper()
	for range 50 {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		port := ln.Addr().(*net.TCPAddr).Port
		ln.Close()
		pc, err := net.ListenPacket("udp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
		if err == nil {
			pc.Close()
			return port
		}
	}
	t.Fatal("no port free for TCP and UDP")
	return 0
}

// waitAccepts announces a throwaway peer over UDP until opentracker has
// loaded its whitelist and accepts ih, then withdraws it.
func (o *opentracker) waitAccepts(t *testing.T, c *Client, ih [20]byte) {
	t.Helper()
	probe := AnnounceRequest{InfoHash: ih, Port: 9, Left: 1, Event: Started}
	copy(probe.PeerID[:], "-TF0001-probeprobepr")
	deadline := time.Now().Add(15 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(t.Context(), 2*time.Second)
		_, err := c.Announce(ctx, o.udpURL(), probe)
		cancel()
		if err == nil {
			break
		}
		select {
		case <-o.exited:
			t.Fatalf("opentracker exited: %v\n%s", err, o.log())
		default:
		}
		// Until it listens, the kernel refuses the datagram; until it
		// has read the whitelist, it answers with an empty announce reply.
		waiting := errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, ErrBadResponse) || errors.Is(err, context.DeadlineExceeded)
		if !waiting || time.Now().After(deadline) {
			t.Fatalf("opentracker does not accept %x: %v\n%s", ih, err, o.log())
		}
		time.Sleep(50 * time.Millisecond)
	}
	probe.Event = Stopped
	if _, err := c.Announce(t.Context(), o.udpURL(), probe); err != nil {
		t.Fatalf("withdrawing the probe: %v", err)
	}
}

// A leecher on UDP and a seeder on HTTP find each other through Debian's
// opentracker, and scrapes over both protocols count them.
func TestOpentrackerInterop(t *testing.T) {
	var ih [20]byte
	copy(ih[:], testbytes.Bytes(15, 20))
	o := startOpentracker(t, ih)
	transport := &http.Transport{}
	defer transport.CloseIdleConnections()
	c := NewClient(Options{HTTPClient: &http.Client{Transport: transport}})
	c.udpTimeout = 2 * time.Second // loopback; a lost datagram would still be retried
	o.waitAccepts(t, c, ih)

	leecher := AnnounceRequest{InfoHash: ih, Port: 7001, Left: 1 << 20, Event: Started, NumWant: 50, Key: 1}
	copy(leecher.PeerID[:], "-TF0001-leecherleech")
	seeder := AnnounceRequest{InfoHash: ih, Port: 7002, Event: Started, NumWant: 50, Key: 2}
	copy(seeder.PeerID[:], "-TF0001-seederseeder")
	leecherAddr := netip.MustParseAddrPort("127.0.0.1:7001")
	seederAddr := netip.MustParseAddrPort("127.0.0.1:7002")

	r, err := c.Announce(t.Context(), o.udpURL(), leecher)
	if err != nil {
		t.Fatalf("UDP announce: %v", err)
	}
	if slices.Contains(r.Peers, seederAddr) || r.Interval < MinAllowedInterval {
		t.Fatalf("first UDP announce: %+v", r)
	}
	r, err = c.Announce(t.Context(), o.httpURL(), seeder)
	if err != nil {
		t.Fatalf("HTTP announce: %v", err)
	}
	if !slices.Contains(r.Peers, leecherAddr) {
		t.Fatalf("the HTTP seeder got peers %v, want the UDP leecher %v among them", r.Peers, leecherAddr)
	}
	leecher.Event = None
	r, err = c.Announce(t.Context(), o.udpURL(), leecher)
	if err != nil {
		t.Fatalf("UDP announce: %v", err)
	}
	if !slices.Contains(r.Peers, seederAddr) || r.Seeders != 1 || r.Leechers != 1 {
		t.Fatalf("the UDP leecher got %+v, want the HTTP seeder %v among its peers and 1 seeder, 1 leecher", r, seederAddr)
	}

	scrape := func(url string, want ScrapeResult) {
		t.Helper()
		got, err := c.Scrape(t.Context(), url, [][20]byte{ih})
		if err != nil {
			t.Fatalf("scrape %s: %v", url, err)
		}
		if got[ih] != want {
			t.Fatalf("scrape %s: %+v, want %+v", url, got[ih], want)
		}
	}
	scrape(o.udpURL(), ScrapeResult{Seeders: 1, Leechers: 1})
	scrape(o.httpURL(), ScrapeResult{Seeders: 1, Leechers: 1})

	// The leecher finishes: two seeders, one completed download.
	leecher.Event, leecher.Left, leecher.Downloaded = Completed, 0, 1<<20
	if _, err := c.Announce(t.Context(), o.udpURL(), leecher); err != nil {
		t.Fatalf("UDP completed announce: %v", err)
	}
	scrape(o.udpURL(), ScrapeResult{Seeders: 2, Completed: 1})
	scrape(o.httpURL(), ScrapeResult{Seeders: 2, Completed: 1})

	// A torrent not on the whitelist: over HTTP a failure reason, over
	// UDP an announce reply of 8 bytes, without even an interval.
	other := leecher
	other.InfoHash[0] ^= 0xff
	if _, err := c.Announce(t.Context(), o.udpURL(), other); !errors.Is(err, ErrBadResponse) ||
		!strings.Contains(err.Error(), "empty UDP announce reply") {
		t.Fatalf("announce of an unlisted torrent over UDP: got %v, want ErrBadResponse for an empty reply", err)
	}
	var fe *FailureError
	if _, err := c.Announce(t.Context(), o.httpURL(), other); !errors.As(err, &fe) || fe.Reason == "" {
		t.Fatalf("announce of an unlisted torrent over HTTP: got %v, want *FailureError", err)
	}
}
