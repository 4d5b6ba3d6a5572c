package interop

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Opentracker is a running opentracker serving HTTP (and UDP) on
// 127.0.0.1:Port.
type Opentracker struct {
	Port int
	Proc *Proc
}

// URL is the HTTP announce URL.
func (o *Opentracker) URL() string { return OpentrackerURL(o.Port) }

// OpentrackerURL is the announce URL of an opentracker on 127.0.0.1:port.
func OpentrackerURL(port int) string { return fmt.Sprintf("http://127.0.0.1:%d/announce", port) }

// FreePort returns a port that is free for both TCP and UDP on ip right now.
func FreePort(t testing.TB, ip string) int {
	t.Helper()
	for range 50 {
		ln, err := net.Listen("tcp", net.JoinHostPort(ip, "0"))
		if err != nil {
			t.Fatalf("interop: listen on %s: %v", ip, err)
		}
		port := ln.Addr().(*net.TCPAddr).Port
		ln.Close()
		pc, err := net.ListenPacket("udp", net.JoinHostPort(ip, strconv.Itoa(port)))
		if err != nil {
			continue
		}
		pc.Close()
		return port
	}
	t.Fatalf("interop: no free TCP+UDP port on %s", ip)
	return 0
}

// StartOpentracker starts opentracker on 127.0.0.1:port, whitelisting
// infoHashes (Debian builds it in whitelist mode, so they must be known
// now), and returns once it accepts announces for every one of them.
// Pick the port with FreePort before making the torrents, since their
// announce URL names it.
func StartOpentracker(t testing.TB, port int, infoHashes ...[20]byte) *Opentracker {
	t.Helper()
	bin := RequireTool(t, "opentracker", "opentracker")
	dir := t.TempDir()
	root := filepath.Join(dir, "root")
	if err := os.Mkdir(root, 0o755); err != nil {
		t.Fatal(err)
	}
	// opentracker chroots to root and drops to user nobody before reading
	// the whitelist, so the list's path is inside the chroot and both must
	// be world-readable.
	if err := os.Chmod(root, 0o755); err != nil {
		t.Fatal(err)
	}
	var wl strings.Builder
	for _, ih := range infoHashes {
		wl.WriteString(hex.EncodeToString(ih[:]) + "\n")
	}
	if err := os.WriteFile(filepath.Join(root, "whitelist.txt"), []byte(wl.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	wlPath := "/whitelist.txt"
	if os.Geteuid() != 0 {
		wlPath = filepath.Join(root, "whitelist.txt") // no chroot without root
	}
	conf := filepath.Join(dir, "opentracker.conf")
	confText := fmt.Sprintf("access.whitelist %s\ntracker.rootdir %s\n", wlPath, root)
	if err := os.WriteFile(conf, []byte(confText), 0o644); err != nil {
		t.Fatal(err)
	}
	// opentracker drops to user nobody, which clears the parent-death
	// signal, and refuses to run as root. So a shell that stays ours kills
	// it when our stdin pipe closes: at cleanup, or when the test binary
	// dies without running cleanups (a test timeout).
	// (Background jobs get /dev/null as stdin, hence fd 3.)
	const guard = `exec 3<&0; "$0" "$@" 3<&- & pid=$!; (cat <&3 >/dev/null; kill $pid 2>/dev/null) & wait $pid`
	p := StartProc(t, ProcOptions{Stdin: true}, "/bin/sh", "-c", guard, bin, "-f", conf, "-i", "127.0.0.1",
		"-p", strconv.Itoa(port), "-P", strconv.Itoa(port))
	o := &Opentracker{Port: port, Proc: p}

	deadline := time.Now().Add(15 * time.Second)
	for _, ih := range infoHashes {
		for {
			err := o.probe(ih)
			if err == nil {
				break
			}
			if p.Exited() {
				t.Fatalf("interop: opentracker exited: %v\n%s", err, p.Stderr())
			}
			if time.Now().After(deadline) {
				t.Fatalf("interop: opentracker on port %d not accepting %x: %v\n%s", port, ih, err, p.Stderr())
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	return o
}

// probe announces a dummy peer for ih and withdraws it again. It fails
// while opentracker has not loaded its whitelist yet. (An event=stopped
// announce alone cannot tell: opentracker accepts it for any info hash.)
func (o *Opentracker) probe(ih [20]byte) error {
	const dummyPort = 9 // discard; nobody will connect, and it is withdrawn at once
	body, err := o.announce(ih, dummyPort, "")
	if err != nil {
		return err
	}
	if bytes.Contains(body, []byte("failure reason")) {
		return fmt.Errorf("interop: opentracker refused: %q", body)
	}
	_, err = o.announce(ih, dummyPort, "stopped")
	return err
}

func (o *Opentracker) announce(ih [20]byte, port int, event string) ([]byte, error) {
	q := fmt.Sprintf("info_hash=%s&peer_id=-IT0001-interopprobe&port=%d&uploaded=0&downloaded=0&left=1&compact=1&numwant=0",
		url.QueryEscape(string(ih[:])), port)
	if event != "" {
		q += "&event=" + event
	}
	return o.get("/announce?" + q)
}

func (o *Opentracker) get(path string) ([]byte, error) {
	c := &http.Client{
		Timeout:   2 * time.Second,
		Transport: &http.Transport{DisableKeepAlives: true, Proxy: nil},
	}
	resp, err := c.Get(fmt.Sprintf("http://127.0.0.1:%d%s", o.Port, path))
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	return io.ReadAll(io.LimitReader(resp.Body, 1<<20))
}

// Seeders returns opentracker's count of seeders ("complete") for ih.
func (o *Opentracker) Seeders(ih [20]byte) (int, error) {
	complete, _, err := o.Scrape(ih)
	return complete, err
}

// Scrape returns opentracker's counts of seeders ("complete") and
// leechers ("incomplete") for ih.
func (o *Opentracker) Scrape(ih [20]byte) (complete, incomplete int, err error) {
	body, err := o.get("/scrape?info_hash=" + url.QueryEscape(string(ih[:])))
	if err != nil {
		return 0, 0, err
	}
	if complete, err = scrapeField(body, "8:completei"); err != nil {
		return 0, 0, err
	}
	if incomplete, err = scrapeField(body, "10:incompletei"); err != nil {
		return 0, 0, err
	}
	return complete, incomplete, nil
}

func scrapeField(body []byte, key string) (int, error) {
	_, after, ok := bytes.Cut(body, []byte(key))
	if !ok {
		return 0, nil // the torrent has no peers yet
	}
	end := bytes.IndexByte(after, 'e')
	if end < 0 {
		return 0, fmt.Errorf("interop: bad scrape reply %q", body)
	}
	return strconv.Atoi(string(after[:end]))
}

// WaitPeers waits until opentracker lists at least n peers (seeders plus
// leechers) for ih.
func (o *Opentracker) WaitPeers(t testing.TB, ih [20]byte, n int, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		c, i, err := o.Scrape(ih)
		if err == nil && c+i >= n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("interop: opentracker lists %d peers of %x after %v, want %d (err %v)", c+i, ih, timeout, n, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// WaitSeeders waits until opentracker lists at least n seeders for ih.
func (o *Opentracker) WaitSeeders(t testing.TB, ih [20]byte, n int, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		got, err := o.Seeders(ih)
		if err == nil && got >= n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("interop: opentracker lists %d seeders of %x after %v, want %d (err %v)", got, ih, timeout, n, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
