package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/torrentfs/torrentfs/fetcher/dht"
	"github.com/torrentfs/torrentfs/internal/leakcheck"
)

func TestInfoResolvesAMagnetLink(t *testing.T) {
	defer leakcheck.Check(t)()
	sw := startSwarm(t)
	link := sw.mi.Magnet().String()
	code, out, stderr := runCLI("info", "--listen", "127.0.0.1:0", "--metadata-timeout", "20s", link)
	if code != 0 {
		t.Fatalf("info %s: exit %d\n%s", link, code, stderr)
	}
	for _, want := range []string{"swarm", sw.mi.InfoHash.String(), "swarm/sub/deeper/b.mkv"} {
		if !strings.Contains(out, want) {
			t.Errorf("info of the magnet lacks %q:\n%s", want, out)
		}
	}
	if !strings.Contains(stderr, "got the metadata") {
		t.Errorf("no progress shown while fetching the metadata:\n%s", stderr)
	}
}

func TestInfoOfAMagnetWithNoPeersTimesOut(t *testing.T) {
	defer leakcheck.Check(t)()
	link := "magnet:?xt=urn:btih:" + strings.Repeat("ab", 20) + "&x.pe=127.0.0.1:9"
	start := time.Now()
	code, _, stderr := runCLI("info", "--listen", "127.0.0.1:0", "--metadata-timeout", "500ms", link)
	if code != 1 || time.Since(start) > 10*time.Second {
		t.Fatalf("exit %d after %s, want 1 soon after the timeout\n%s", code, time.Since(start), stderr)
	}
	if lines := strings.Split(strings.TrimSpace(stderr), "\n"); !strings.HasPrefix(lines[len(lines)-1], "torrentfs: magnet ") {
		t.Fatalf("the last line should say what happened to the magnet:\n%s", stderr)
	}
}

func TestMountAMagnetThenRemountFromTheCache(t *testing.T) {
	requireFUSE(t)
	defer leakcheck.Check(t)()
	sw := startSwarm(t)
	m := sw.mi.Magnet()
	cacheDir := filepath.Join(t.TempDir(), "cache")
	cfg := sessionConfig{
		Logger:      slog.New(slog.DiscardHandler),
		CacheDir:    cacheDir,
		Listen:      "127.0.0.1:0",
		MetaTimeout: 20 * time.Second,
	}
	for round, wantFrom := range []string{"from peers", "from the cache"} {
		dir := t.TempDir()
		ctx, cancel := context.WithCancel(context.Background())
		var log bytes.Buffer
		errc := make(chan error, 1)
		go func() { errc <- mountAndWait(ctx, cfg, source{magnet: m}, dir, &log) }() // log is read only after errc
		p := filepath.Join(dir, "swarm", "sub", "deeper", "b.mkv")
		deadline := time.Now().Add(20 * time.Second)
		for {
			if _, err := os.Stat(p); err == nil {
				break
			}
			if time.Now().After(deadline) {
				cancel()
				t.Fatalf("round %d: %s never appeared", round, p)
			}
			time.Sleep(20 * time.Millisecond)
		}
		got, err := os.ReadFile(p)
		if err != nil || sha256.Sum256(got) != sha256.Sum256(sw.files[1].data) {
			t.Fatalf("round %d: reading through the mount of a magnet: err %v", round, err)
		}
		cancel()
		if err := <-errc; err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		wantLine := map[string]string{"from peers": "got the metadata", "from the cache": "from the cache"}[wantFrom]
		if !strings.Contains(log.String(), wantLine) {
			t.Fatalf("round %d: metadata should come %s:\n%s", round, wantFrom, log.String())
		}
	}
}

// TestInfoFindsATrackerlessMagnetOnTheDHT: a magnet with nothing but its
// info hash resolves through the DHT, joined through --dht-bootstrap.
func TestInfoFindsATrackerlessMagnetOnTheDHT(t *testing.T) {
	defer leakcheck.Check(t)()
	sw := startSwarm(t)
	router, err := dht.Listen("127.0.0.1:0", dht.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer router.Close()
	announcer, err := dht.Listen("127.0.0.1:0", dht.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer announcer.Close()
	ctx := context.Background()
	if err := announcer.Bootstrap(ctx, []string{router.Addr().String()}); err != nil {
		t.Fatal(err)
	}
	if _, err := announcer.Announce(ctx, sw.mi.InfoHash, int(sw.seeder.Port())); err != nil {
		t.Fatal(err)
	}
	link := "magnet:?xt=urn:btih:" + sw.mi.InfoHash.String()
	code, out, stderr := runCLI("info", "--listen", "127.0.0.1:0", "--metadata-timeout", "20s",
		"--dht-bootstrap", router.Addr().String(), link)
	if code != 0 {
		t.Fatalf("info %s: exit %d\n%s", link, code, stderr)
	}
	if !strings.Contains(out, "swarm/sub/deeper/b.mkv") {
		t.Errorf("info of the magnet lacks its files:\n%s", out)
	}
	code, _, stderr = runCLI("info", "--listen", "127.0.0.1:0", "--metadata-timeout", "1s", "--no-dht",
		"--dht-bootstrap", router.Addr().String(), link)
	if code == 0 || !strings.Contains(stderr, "no trackers") {
		t.Errorf("with --no-dht a trackerless magnet resolved or failed without saying why (exit %d):\n%s", code, stderr)
	}
}
