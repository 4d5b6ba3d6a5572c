package interop

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// seedSpec is large enough for several leechers to overlap, with more than
// 40 pieces so that torrentfs hands out allowed-fast sets (BEP 6).
func seedSpec() TorrentSpec {
	const pl = 64 << 10
	return TorrentSpec{
		Name:     "seed",
		PieceLen: pl,
		Files: []DataFile{
			{Path: "big.bin", Size: 6<<20 + 777, Seed: 61},
			{Path: "small/s.txt", Size: 1234, Seed: 62},
			{Path: "tail.bin", Size: 3*pl - 5, Seed: 63}, // short last piece
		},
	}
}

// TestSeedToManyLeechers: torrentfs fills its cache from a libtorrent
// seeder, which then leaves; seven aria2c leechers and a libtorrent
// leecher, each on its own address, then download the torrent at once
// with torrentfs as the only seed. torrentfs unchokes at most 4+1 of them at a time (its debug log
// shows every choke and unchoke), so the others get in only through the
// optimistic unchoke, a freed slot or each other, and all must still
// complete with every byte right.
func TestSeedToManyLeechers(t *testing.T) {
	SkipIfShort(t)
	bin := BuildTorrentFS(t)
	RequireFUSE(t)
	RequireTool(t, "aria2c", "aria2")
	port := FreePort(t, "127.0.0.1")
	tt := MakeTorrent(t, seedSpec(), OpentrackerURL(port))
	ot := StartOpentracker(t, port, tt.InfoHash)
	_, seeder := StartLibtorrentSeederProc(t, tt, LibtorrentIP)
	ot.WaitSeeders(t, tt.InfoHash, 1, 15*time.Second)

	m := StartMount(t, bin, tt)
	m.WaitFiles(t, tt, 60*time.Second)
	checkMountedFiles(t, m, tt) // torrentfs now holds every piece
	seeder.Stop(t)

	// Start every leecher first (Aria2Download waits for one), then wait
	// for all of them.
	const leechers = 7
	start := time.Now()
	type leecher struct {
		ip, dir string
		p       *Proc
	}
	var ls []leecher
	for i := range leechers {
		ip := fmt.Sprintf("127.0.0.%d", 20+i)
		dir := t.TempDir()
		ls = append(ls, leecher{ip, dir, startAria2(t, tt, ip, dir, 120*time.Second)})
	}
	// A libtorrent leecher joins the crowd (it blocks until done).
	checkDownloaded(t, tt, LibtorrentDownload(t, tt, LeecherIP, 120*time.Second))
	ctx, cancel := contextWithTimeout(150 * time.Second)
	defer cancel()
	for _, l := range ls {
		code, err := l.p.Wait(ctx)
		if err != nil || code != 0 {
			t.Fatalf("aria2c on %s: exit %d: %v\nstdout:\n%s\nstderr:\n%s\ntorrentfs stderr:\n%s", l.ip, code, err,
				tail(l.p.Stdout(), 4096), tail(l.p.Stderr(), 4096), tail(m.Proc.Stderr(), 16<<10))
		}
		checkDownloaded(t, tt, l.dir)
	}
	t.Logf("%d aria2c leechers and a libtorrent leecher done in %v", leechers, time.Since(start))
	stopAndCheck(t, m)

	most, distinct := unchokedFromLog(m.Proc.Stderr())
	t.Logf("torrentfs unchoked %d distinct peers, at most %d at once", distinct, most)
	if distinct == 0 {
		t.Errorf("torrentfs never unchoked a leecher\nstderr:\n%s", tail(m.Proc.Stderr(), 16<<10))
	}
	if most > 5 {
		t.Errorf("torrentfs unchoked %d peers at once, want at most 4 slots + 1 optimistic", most)
	}
}

var logPeer = regexp.MustCompile(`\bpeer=(\S+)`)

// unchokedFromLog replays torrentfs's debug log: the most peers unchoked
// at once, and how many distinct peers were ever unchoked.
func unchokedFromLog(log string) (most, distinct int) {
	unchoked := map[string]bool{}
	ever := map[string]bool{}
	for _, line := range strings.Split(log, "\n") {
		m := logPeer.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		switch {
		case strings.Contains(line, `msg="unchoking peer"`):
			unchoked[m[1]] = true
			ever[m[1]] = true
		case strings.Contains(line, `msg="choking peer"`), strings.Contains(line, `msg="peer disconnected"`):
			delete(unchoked, m[1])
		}
		most = max(most, len(unchoked))
	}
	return most, len(ever)
}

// startAria2 starts aria2c downloading tt into dir as a peer on listenIP,
// with the options Aria2Download uses, and returns without waiting.
func startAria2(t *testing.T, tt *Torrent, listenIP, dir string, timeout time.Duration) *Proc {
	t.Helper()
	bin := RequireTool(t, "aria2c", "aria2")
	port := FreePort(t, listenIP)
	return StartProc(t, ProcOptions{}, bin,
		"--enable-dht=false", "--enable-dht6=false",
		"--bt-enable-lpd=false", "--enable-peer-exchange=false",
		"--seed-time=0", "--bt-tracker-connect-timeout=5", "--bt-tracker-timeout=10",
		"--bt-stop-timeout="+strconv.Itoa(int(timeout/time.Second)),
		"--interface="+listenIP, "--listen-port="+strconv.Itoa(port),
		"--disable-ipv6=true", "--no-netrc=true", "--no-conf=true",
		"--file-allocation=none", "--summary-interval=0", "--console-log-level=warn",
		"--check-certificate=false", "--follow-torrent=false",
		"--dir="+dir, tt.Path)
}
