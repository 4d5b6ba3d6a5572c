// Command cachebench measures the piece cache: disk usage over a long run
// of writes under a size limit, and the time and memory it takes to open
// a cache of many pieces. Write and read throughput per piece size are Go
// benchmarks in piececache (go test -bench . ./piececache).
//
//	go run ./bench/cachebench -dir /var/tmp/cb            # both measurements
//	go run ./bench/cachebench -run disk -limit 1GiB -write 4GiB
package main

import (
	"context"
	"flag"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/torrentfs/torrentfs/internal/testbytes"
	"github.com/torrentfs/torrentfs/piececache"
)

func main() {
	dir := flag.String("dir", "", "scratch directory (default: a new temporary one, removed at the end)")
	run := flag.String("run", "disk,open", "measurements to run: disk, open")
	limit := flag.Int64("limit-mib", 1024, "disk: the cache's MaxBytes in MiB")
	write := flag.Int64("write-mib", 4096, "disk: MiB to write")
	piece := flag.Int("piece-kib", 1024, "disk: piece size in KiB")
	sample := flag.Int64("sample-mib", 64, "disk: sample disk usage every this many MiB")
	pieces := flag.Int("pieces", 100_000, "open: pieces in the cache")
	openPiece := flag.Int("open-piece-kib", 16, "open: piece size in KiB")
	flag.Parse()
	if *dir == "" {
		d, err := os.MkdirTemp("", "cachebench-")
		if err != nil {
			fail(err)
		}
		defer os.RemoveAll(d)
		*dir = d
	}
	for _, r := range strings.Split(*run, ",") {
		var err error
		switch r {
		case "disk":
			err = diskCurve(filepath.Join(*dir, "disk"), *limit<<20, *write<<20, *piece<<10, *sample<<20)
		case "open":
			err = openTime(filepath.Join(*dir, "open"), *pieces, *openPiece<<10)
		case "openonly": // run by "open" in a fresh process
			err = openOnly(filepath.Join(*dir, "open"))
		default:
			err = fmt.Errorf("unknown measurement %q", r)
		}
		if err != nil {
			fail(err)
		}
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "cachebench:", err)
	os.Exit(1)
}

// du is what du reports for dir: the allocated blocks of its files.
func du(dir string) int64 {
	var n int64
	filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			if fi, err := d.Info(); err == nil {
				n += fi.Sys().(*syscall.Stat_t).Blocks * 512
			}
		}
		return nil
	})
	return n
}

// diskCurve writes distinct pieces into a cache limited to limit bytes,
// re-reading a few early pieces all along (so eviction is not purely in
// write order), and prints CSV: MiB written, du in MiB, Stats().Bytes in
// MiB, elapsed seconds.
func diskCurve(dir string, limit, total int64, size int, every int64) error {
	c, err := piececache.Open(dir, piececache.Options{MaxBytes: limit, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		return err
	}
	defer c.Close()
	ctx := context.Background()
	var ih [20]byte
	copy(ih[:], "cachebench disk curve")
	bufs := [4][]byte{}
	for i := range bufs {
		bufs[i] = testbytes.Bytes(uint64(i), size)
	}
	fmt.Printf("# disk usage with MaxBytes %d MiB, %d KiB pieces\n", limit>>20, size>>10)
	fmt.Println("written_mib,du_mib,live_mib,seconds")
	start := time.Now()
	var maxDU int64
	rd := make([]byte, 128<<10)
	for p, written := 0, int64(0); written < total; p++ {
		b := bufs[p%len(bufs)]
		b[0], b[1], b[2], b[3] = byte(p), byte(p>>8), byte(p>>16), byte(p>>24) // distinct pieces
		if err := c.Put(ctx, ih, p, b); err != nil {
			return err
		}
		written += int64(size)
		if p%8 == 0 { // some old pieces stay hot
			c.ReadAt(ctx, ih, p%64, rd, 0)
		}
		if written%every < int64(size) {
			d := du(dir)
			maxDU = max(maxDU, d)
			fmt.Printf("%d,%d,%d,%.1f\n", written>>20, d>>20, c.Stats().Bytes>>20, time.Since(start).Seconds())
		}
	}
	fmt.Printf("# max du %d MiB = limit + %d MiB; %.0f MB/s written\n", maxDU>>20, (maxDU-limit)>>20,
		float64(total)/time.Since(start).Seconds()/1e6)
	return nil
}

// openTime fills a cache with n pieces, closes it, and times a fresh Open
// with the peak RSS of this process.
func openTime(dir string, n, size int) error {
	c, err := piececache.Open(dir, piececache.Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		return err
	}
	ctx := context.Background()
	data := testbytes.Bytes(7, size)
	start := time.Now()
	for p := range n {
		var ih [20]byte
		ih[0], ih[1] = byte(p/10000), byte(p/10000>>8) // 10,000 pieces a torrent
		if err := c.Put(ctx, ih, p%10000, data); err != nil {
			c.Close()
			return err
		}
	}
	fill := time.Since(start)
	if err := c.Close(); err != nil {
		return err
	}
	fmt.Printf("# open: filled %d pieces of %d KiB in %.1fs\n", n, size>>10, fill.Seconds())
	// Open in a fresh process, so that its RSS is Open's alone.
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	cmd := exec.Command(exe, "-run", "openonly", "-dir", filepath.Dir(dir))
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	return cmd.Run()
}

// openOnly opens the cache in dir and reports the time and memory it took.
func openOnly(dir string) error {
	start := time.Now()
	c, err := piececache.Open(dir, piececache.Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		return err
	}
	took := time.Since(start)
	defer c.Close()
	st := c.Stats()
	fmt.Printf("# open: %d pieces (%d MiB, du %d MiB): Open took %v; then anonymous RSS %d MiB, file-backed RSS %d MiB (mmapped Badger files), peak RSS (VmHWM) %d MiB\n",
		st.Pieces, st.Bytes>>20, du(dir)>>20, took.Round(time.Millisecond),
		rssKiB("RssAnon")>>10, rssKiB("RssFile")>>10, rssKiB("VmHWM")>>10)
	return nil
}

// rssKiB reads a field (VmRSS, VmHWM) of /proc/self/status in KiB.
func rssKiB(field string) int64 {
	b, _ := os.ReadFile("/proc/self/status")
	for _, l := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(l, field+":"); ok {
			n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return n
		}
	}
	return 0
}
