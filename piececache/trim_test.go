package piececache

import (
	"bufio"
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

func TestValueLogMappings(t *testing.T) {
	maps := `00400000-00452000 r-xp 00000000 08:02 173521      /usr/bin/torrentfs
7f0000000000-7f0010000000 rw-s 00000000 fd:00 1001       /var/cache/tfs/000001.vlog
7f0010000000-7f0020000000 r--s 00000000 fd:00 1002       /var/cache/tfs/000002.vlog
7f0020000000-7f0030000000 rw-p 00000000 fd:00 1003       /var/cache/tfs/000003.vlog
7f0030000000-7f0031000000 r--s 00000000 fd:00 1004       /var/cache/tfs/000004.sst
7f0031000000-7f0032000000 rw-s 00000000 fd:00 1005       /var/cache/tfs/00005.mem
7f0032000000-7f0033000000 r--s 00000000 fd:00 1006       /var/cache/tfs/000006.vlog (deleted)
7f0033000000-7f0034000000 r--s 00000000 fd:00 1007       /var/cache/other/000007.vlog
7f0034000000-7f0035000000 r--s 00000000 fd:00 1008       /var/cache/tfs/sub/000008.vlog
7f0035000000-7f0036000000 rw-p 00000000 00:00 0 
7ffd00000000-7ffd00021000 rw-p 00000000 00:00 0          [stack]
garbage line
zz-7f00 rw-s 00000000 fd:00 1009       /var/cache/tfs/000009.vlog
`
	got := valueLogMappings([]byte(maps), "/var/cache/tfs")
	want := []mapRange{{0x7f0000000000, 0x7f0010000000}, {0x7f0010000000, 0x7f0020000000}}
	if len(got) != len(want) {
		t.Fatalf("got %d ranges %x, want %x", len(got), got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("range %d = %x, want %x", i, got[i], want[i])
		}
	}
}

// vlogRSS is how much of dir's value-log mappings is resident in this
// process, from /proc/self/smaps.
func vlogRSS(t *testing.T, dir string) int64 {
	t.Helper()
	smaps, err := os.ReadFile("/proc/self/smaps")
	if err != nil {
		t.Skipf("no /proc/self/smaps: %v", err)
	}
	var total int64
	in := false
	sc := bufio.NewScanner(bytes.NewReader(smaps))
	for sc.Scan() {
		line := sc.Text()
		if f := strings.Fields(line); len(f) >= 6 && strings.Contains(f[0], "-") && !strings.HasSuffix(f[0], ":") {
			p := strings.Join(f[5:], " ")
			in = filepath.Dir(p) == dir && filepath.Ext(p) == ".vlog"
			continue
		}
		if rest, ok := strings.CutPrefix(line, "Rss:"); ok && in {
			kb, _ := strconv.ParseInt(strings.Fields(rest)[0], 10, 64)
			total += kb << 10
		}
	}
	return total
}

// TestTrimKeepsValueLogOutOfRSS writes and reads back 96 MiB and checks
// that the value log's pages do not pile up in the process's RSS, and that
// every byte still reads back right after the trims.
func TestTrimKeepsValueLogOutOfRSS(t *testing.T) {
	c, dir := openTest(t, Options{trimEvery: 8 << 20})
	real := mappedDir(dir)
	if real == "" {
		t.Fatal("cannot resolve the cache directory")
	}
	ctx := context.Background()
	ih := hash(1)
	const size, n = 1 << 20, 96
	for p := range n {
		if err := c.Put(ctx, ih, p, pieceData(1, p, size)); err != nil {
			t.Fatal(err)
		}
	}
	// The writer trims after the batch that crossed the threshold, so at
	// most one threshold plus a batch stays mapped.
	if rss := vlogRSS(t, real); rss > 24<<20 {
		t.Errorf("after writing %d MiB, %d MiB of the value log is resident in this process; want trims to keep it under 24 MiB", n, rss>>20)
	}
	buf := make([]byte, size)
	for p := range n {
		if _, err := c.ReadAt(ctx, ih, p, buf, 0); err != nil {
			t.Fatalf("read piece %d: %v", p, err)
		}
		if !bytes.Equal(buf, pieceData(1, p, size)) {
			t.Fatalf("piece %d reads back wrong after trims", p)
		}
	}
	// Reads wake the writer to trim; give it a Put to make sure it ran.
	if err := c.Put(ctx, ih, n, pieceData(1, n, 1024)); err != nil {
		t.Fatal(err)
	}
	if rss := vlogRSS(t, real); rss > 24<<20 {
		t.Errorf("after reading %d MiB back, %d MiB of the value log is resident; want under 24 MiB", n, rss>>20)
	}
}
