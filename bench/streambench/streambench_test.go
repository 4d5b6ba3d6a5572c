package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/torrentfs/torrentfs/internal/leakcheck"
	"github.com/torrentfs/torrentfs/internal/testbytes"
)

func TestMain(m *testing.M) { leakcheck.Main(m) }

func TestParseSize(t *testing.T) {
	for in, want := range map[string]int64{
		"512MiB": 512 << 20, "64MiB": 64 << 20, "1GiB": 1 << 30, "256KiB": 256 << 10,
		"5MB": 5_000_000, "1MB": 1_000_000, "1048576": 1 << 20, "1.5MiB": 3 << 19, "64M": 64 << 20,
	} {
		got, err := parseSize(in)
		if err != nil || got != want {
			t.Errorf("parseSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "MiB", "-1MiB", "12XB", "lots"} {
		if _, err := parseSize(bad); err == nil {
			t.Errorf("parseSize(%q) succeeded", bad)
		}
	}
	if got := sizeName(512 << 20); got != "512MiB" {
		t.Errorf("sizeName = %q", got)
	}
}

func TestMedianAndRatio(t *testing.T) {
	if m := median([]float64{3, 1, 2}); m != 2 {
		t.Errorf("median of 3 = %v", m)
	}
	if m := median([]float64{4, 1, 2, 3}); m != 2.5 {
		t.Errorf("median of 4 = %v", m)
	}
	// Times: btfs/torrentfs. Speeds: torrentfs/btfs. Above 1: torrentfs better.
	if r, ok := ratio(metricDef{Better: "lower"}, 100, 300); !ok || r != 3 {
		t.Errorf("time ratio = %v %v", r, ok)
	}
	if r, ok := ratio(metricDef{Better: "higher"}, 400, 100); !ok || r != 4 {
		t.Errorf("speed ratio = %v %v", r, ok)
	}
	if _, ok := ratio(metricDef{Better: "lower"}, 0, 3); ok {
		t.Error("ratio over zero stalls is defined")
	}
}

func TestScaledDefaults(t *testing.T) {
	cfg := &config{Size: 512 << 20, PieceLength: 1 << 20, SeekOffset: 300 << 20}
	if got := cfg.effectiveSeek(); got != 300<<20 {
		t.Errorf("seek in 512MiB = %d", got)
	}
	cfg.Size = 64 << 20
	if got := cfg.effectiveSeek(); got != 37<<20 {
		t.Errorf("seek in 64MiB = %s, want 37MiB", sizeName(got))
	}
	if d := defaultPlayerCap(512 << 20); d != time.Minute {
		t.Errorf("player cap at 512MiB = %v", d)
	}
	if d := defaultPlayerCap(64 << 20); d != 7500*time.Millisecond {
		t.Errorf("player cap at 64MiB = %v", d)
	}
}

func TestFlags(t *testing.T) {
	var errOut bytes.Buffer
	cfg, err := parseFlags([]string{"-size", "64MiB", "-runs", "1", "-only", "btfs", "-scenarios", "first,player"}, &errOut)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Size != 64<<20 || cfg.Runs != 1 || len(cfg.Only) != 1 || cfg.Only[0] != btFS || !cfg.has("player") || cfg.has("seq") {
		t.Errorf("parsed %+v", cfg)
	}
	for _, bad := range [][]string{
		{"-only", "ext4"}, {"-scenarios", "fast"}, {"-runs", "0"}, {"-only", "torrentfs"}, // no -torrentfs binary
	} {
		if _, err := parseFlags(bad, &errOut); err == nil {
			t.Errorf("parseFlags(%q) succeeded", bad)
		}
	}
}

// writeSource writes size bytes of the benchmark's data to a file.
func writeSource(t *testing.T, size int64) (string, [32]byte) {
	t.Helper()
	data := testbytes.Bytes(dataSeed, int(size))
	p := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return p, sha256.Sum256(data)
}

func TestReadsCheckBytes(t *testing.T) {
	for _, hashDuring := range []bool{false, true} {
		const size = 3<<20 + 123 // a short last chunk
		p, sum := writeSource(t, size)
		src := testbytes.Reader(dataSeed, size)
		if _, err := readAt(p, src, 1<<20, 64<<10); err != nil {
			t.Errorf("readAt: %v", err)
		}
		if _, err := seqRead(context.Background(), p, 1<<20, size, sum, hashDuring); err != nil {
			t.Errorf("seqRead (hash during: %v): %v", hashDuring, err)
		}
		if _, err := seqRead(context.Background(), p, 1<<20, size-1, sum, hashDuring); err == nil {
			t.Errorf("seqRead (hash during: %v) accepted a file longer than expected", hashDuring)
		}
		// One flipped byte must fail both.
		f, err := os.OpenFile(p, os.O_RDWR, 0)
		if err != nil {
			t.Fatal(err)
		}
		f.WriteAt([]byte{^testbytes.Bytes(dataSeed, 1<<20+101)[1<<20+100]}, 1<<20+100)
		f.Close()
		if _, err := readAt(p, src, 1<<20, 64<<10); err == nil {
			t.Error("readAt accepted a wrong byte")
		}
		if _, err := seqRead(context.Background(), p, 1<<20, size, sum, hashDuring); err == nil {
			t.Errorf("seqRead (hash during: %v) accepted a wrong byte", hashDuring)
		}
		if _, err := seqRead(context.Background(), p, 1<<20, size+1, sum, hashDuring); err == nil {
			t.Errorf("seqRead (hash during: %v) accepted a short file", hashDuring)
		}
	}
}

func TestPlayerPaces(t *testing.T) {
	const size = 1 << 20
	p, _ := writeSource(t, size)
	src := testbytes.Reader(dataSeed, size)
	start := time.Now()
	// 64 KiB reads at 4 MiB/s: 16 reads, 15 intervals of 15.6 ms.
	r, err := play(context.Background(), p, src, size, playerOptions{rate: 4 << 20, chunk: 64 << 10, stall: 200 * time.Millisecond, cap: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	took := time.Since(start)
	if r.Bytes != size || r.Stalls != 0 {
		t.Errorf("played %d bytes with %d stalls", r.Bytes, r.Stalls)
	}
	if took < 200*time.Millisecond || took > 5*time.Second {
		t.Errorf("1 MiB at 4 MiB/s took %v, want about 234ms", took)
	}
	// The cap ends playback early.
	r, err = play(context.Background(), p, src, size, playerOptions{rate: 1 << 20, chunk: 64 << 10, stall: time.Second, cap: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if r.Bytes >= size || r.Played < 100*time.Millisecond {
		t.Errorf("capped player read %d bytes in %v", r.Bytes, r.Played)
	}
}

func TestUTPResetPacket(t *testing.T) {
	seederAddr := netip.MustParseAddrPort("127.0.0.2:40000")
	r := &utpResetter{seeders: map[netip.AddrPort]bool{seederAddr: true}}
	syn := make([]byte, 20+8+20)
	syn[0], syn[9] = 0x45, 17
	copy(syn[12:], []byte{127, 0, 0, 1})
	copy(syn[16:], []byte{127, 0, 0, 2})
	binary.BigEndian.PutUint16(syn[20:], 51413) // client port
	binary.BigEndian.PutUint16(syn[22:], 40000)
	utp := syn[28:]
	utp[0] = utpSYN
	binary.BigEndian.PutUint16(utp[2:], 0x1234)  // connection id
	binary.BigEndian.PutUint16(utp[16:], 0x0777) // seq_nr

	pkt := r.reset(syn)
	if pkt == nil {
		t.Fatal("no RESET for a SYN to a seeder")
	}
	if ipChecksum(pkt[:20]) != 0 {
		t.Error("bad IP header checksum")
	}
	if !bytes.Equal(pkt[12:16], []byte{127, 0, 0, 2}) || !bytes.Equal(pkt[16:20], []byte{127, 0, 0, 1}) {
		t.Errorf("addresses %v -> %v, want from the seeder to the client", pkt[12:16], pkt[16:20])
	}
	u := pkt[20:]
	if binary.BigEndian.Uint16(u[0:]) != 40000 || binary.BigEndian.Uint16(u[2:]) != 51413 {
		t.Error("ports not swapped")
	}
	h := u[8:]
	if h[0] != utpReset || binary.BigEndian.Uint16(h[2:]) != 0x1234 || binary.BigEndian.Uint16(h[18:]) != 0x0777 {
		t.Errorf("uTP header % x: want RESET, the SYN's connection id, ack of its seq_nr", h)
	}

	binary.BigEndian.PutUint16(syn[22:], 40001) // not a seeder
	if r.reset(syn) != nil {
		t.Error("answered a SYN to a port that is no seeder")
	}
	binary.BigEndian.PutUint16(syn[22:], 40000)
	utp[0] = 0x21 // ST_STATE
	if r.reset(syn) != nil {
		t.Error("answered a packet that is no SYN")
	}
	if r.reset(syn[:30]) != nil {
		t.Error("answered a truncated packet")
	}
}

func TestMarkdownTable(t *testing.T) {
	cfg := &config{Size: 64 << 20, PieceLength: 1 << 20, Runs: 2, Seeders: 2, Only: []fsKind{torrentFS, btFS},
		Scenarios: []string{"first", "seq"}, Stall: 200 * time.Millisecond, SeekOffset: 300 << 20}
	res := newResults(cfg)
	res.add("first_byte_ms", torrentFS, 10)
	res.add("first_byte_ms", torrentFS, 30)
	res.add("first_byte_ms", btFS, 100)
	res.add("first_byte_ms", btFS, 300)
	res.add("seq_mbps", torrentFS, 400)
	res.add("seq_mbps", btFS, 25)
	res.fail("reread_mbps", btFS, os.ErrDeadlineExceeded)
	res.computeMedians()
	md := markdown(cfg, res)
	for _, want := range []string{
		"| first 64 KiB at offset 0 (open+pread) (ms) | 20.0 <sub>(10.0–30.0)</sub> | 200 <sub>(100–300)</sub> | 10.00× |",
		"| cold sequential read, 1 MiB reads (MB/s) | 400 | 25.0 | 16.00× |",
		"**1 failed**",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("table lacks %q:\n%s", want, md)
		}
	}
	if strings.Contains(md, "player") {
		t.Errorf("table shows a scenario that did not run:\n%s", md)
	}
}

func TestProcUsageAndMountinfo(t *testing.T) {
	u, err := readProcUsage(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if u.PeakRSS < 1<<20 || u.PeakRSS > 64<<30 || u.AnonRSS < 1<<20 || u.AnonRSS > u.PeakRSS {
		t.Errorf("own peak RSS %d bytes, anonymous RSS %d", u.PeakRSS, u.AnonRSS)
	}
	if got := unescapeMountinfo(`/tmp/a\040b`); got != "/tmp/a b" {
		t.Errorf("unescape = %q", got)
	}
	if m, err := mounted("/"); err != nil || !m {
		t.Errorf("mounted(/) = %v, %v", m, err)
	}
	if m, err := mounted(t.TempDir()); err != nil || m {
		t.Errorf("mounted(tempdir) = %v, %v", m, err)
	}
}

func TestProcStopsGroup(t *testing.T) {
	p, err := startProc("sh", procOptions{}, "-c", "trap '' TERM; echo ready; sleep 30 & wait")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.waitLine(context.Background(), "ready", 5*time.Second); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if err := p.stop(15, 200*time.Millisecond); err == nil {
		t.Error("stop of a process that ignores SIGTERM reported no kill")
	}
	if !p.exited() || time.Since(start) > 3*time.Second {
		t.Errorf("process still running %v after stop", time.Since(start))
	}
}

func TestBtfsVersion(t *testing.T) {
	out := "FUSE library version: 2.9.9\nfusermount3 version: 3.14.0\nbtfs version: 2.24\nlibtorrent version: 2.0.6.0\n"
	if got := btfsVersion(out); got != "btfs 2.24 (libtorrent 2.0.6.0)" {
		t.Errorf("btfsVersion = %q", got)
	}
}
