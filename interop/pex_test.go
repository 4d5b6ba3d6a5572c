package interop

import (
	"context"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/torrentfs/torrentfs/fetcher"
	"github.com/torrentfs/torrentfs/metainfo"
	"github.com/torrentfs/torrentfs/piececache"
)

// pexPeerPy is a libtorrent peer for the peer exchange tests: TCP only, no
// DHT, LSD, UPnP, NAT-PMP or trackers that answer, so that peer exchange
// is the only way it hears of peers beyond those it is told to connect to.
//
// Usage: pex_peer.py TORRENT SAVE_DIR LISTEN_IP DOWNLOAD_LIMIT [PEER...]
//
// It prints "port N" and "ready", then "connect IP:PORT" for each outgoing
// connection it starts, "peer IP:PORT SOURCE" for each peer it sees
// connected (SOURCE is libtorrent's peer_source_flags: 4 = pex) and
// "complete" once it has every piece. It exits when stdin closes or on
// SIGTERM. DOWNLOAD_LIMIT (bytes/s, 0 = none) keeps it a leecher.
const pexPeerPy = pyPrelude + `
torrent, save, ip, limit = sys.argv[1:5]
peers = sys.argv[5:]

ses = lt.session({
    "listen_interfaces": "%s:0" % ip,
    "outgoing_interfaces": ip,
    "enable_dht": False, "enable_lsd": False, "enable_upnp": False, "enable_natpmp": False,
    "enable_outgoing_utp": False, "enable_incoming_utp": False,
    "allow_multiple_connections_per_ip": True,
    "close_redundant_connections": False,
    "alert_mask": lt.alert.category_t.error_notification | lt.alert.category_t.connect_notification,
})
params = lt.add_torrent_params()
params.ti = lt.torrent_info(torrent)
params.save_path = save
h = ses.add_torrent(params)
if int(limit) > 0:
    h.set_download_limit(int(limit))
while ses.listen_port() == 0 and not stop.wait(0.02):
    pass
print("port %d" % ses.listen_port(), flush=True)
def connect():
    for p in peers:
        host, port = p.rsplit(":", 1)
        h.connect_peer((host, int(port)))
connect()
print("ready", flush=True)
seen = set()
complete = False
last_connect = time.monotonic()
while not stop.wait(0.05):
    for pi in h.get_peer_info():
        key = "%s:%d" % (pi.ip[0], pi.ip[1])
        if key not in seen:
            seen.add(key)
            print("peer %s %d" % (key, int(pi.source)), flush=True)
    if not complete and h.status().is_seeding:
        complete = True
        print("complete", flush=True)
    if time.monotonic() - last_connect > 5:
        connect()
        last_connect = time.monotonic()
    for a in ses.pop_alerts():
        if isinstance(a, lt.peer_connect_alert):
            print("connect %s:%d" % (a.endpoint[0], a.endpoint[1]), flush=True)
        print("pex_peer: %s" % a.message(), file=sys.stderr, flush=True)
sys.stdout.flush()
os._exit(0)
`

// pexDeadTracker is an announce URL nobody answers: the tests' peers learn
// of each other only from what they are told and from peer exchange.
const pexDeadTracker = "http://127.0.0.1:9/announce"

// pexSpec is 2 MiB in 32 KiB pieces: big enough that a peer limited to
// 4 KB/s is still a leecher when the test ends.
func pexSpec() TorrentSpec {
	return TorrentSpec{
		Name:     "pex",
		PieceLen: 32 << 10,
		Files: []DataFile{
			{Path: "a.bin", Size: 2<<20 - 1234, Seed: 21},
			{Path: "b.txt", Size: 999, Seed: 22},
		},
	}
}

// startPEXPeer runs pexPeerPy on ip and returns it once it listens.
func startPEXPeer(t *testing.T, tt *Torrent, saveDir, ip string, limit int, peers ...netip.AddrPort) (*Proc, netip.AddrPort) {
	t.Helper()
	RequireLibtorrent(t)
	script := filepath.Join(t.TempDir(), "pex_peer.py")
	if err := os.WriteFile(script, []byte(pexPeerPy), 0o644); err != nil {
		t.Fatal(err)
	}
	args := []string{script, tt.Path, saveDir, ip, strconv.Itoa(limit)}
	for _, p := range peers {
		args = append(args, p.String())
	}
	p := StartProc(t, ProcOptions{Stdin: true}, Python3, args...)
	p.WaitOutput(t, "ready\n", 30*time.Second)
	for _, line := range strings.Split(p.Stdout(), "\n") {
		if s, ok := strings.CutPrefix(line, "port "); ok {
			port, err := strconv.Atoi(s)
			if err != nil {
				t.Fatalf("interop: pex_peer.py printed %q", line)
			}
			return p, netip.AddrPortFrom(netip.MustParseAddr(ip), uint16(port))
		}
	}
	t.Fatalf("interop: pex_peer.py printed no port:\n%s", p.Stdout())
	return nil, netip.AddrPort{}
}

// pexLogger logs the fetcher at debug level when TORRENTFS_TEST_LOG is set.
func pexLogger(t *testing.T) *slog.Logger {
	if os.Getenv("TORRENTFS_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug})).With("test", t.Name())
	}
	return slog.New(slog.DiscardHandler)
}

// pexFetcher starts an in-process torrentfs client on 127.0.0.1 with no
// trackers, adds tt's torrent and gives it peers.
func pexFetcher(t *testing.T, tt *Torrent, store fetcher.Storage, peers ...netip.AddrPort) (*fetcher.Client, *fetcher.Torrent, *metainfo.MetaInfo) {
	t.Helper()
	mi, err := metainfo.ReadFile(tt.Path)
	if err != nil {
		t.Fatal(err)
	}
	c, err := fetcher.New(fetcher.Options{Logger: pexLogger(t), ListenAddr: "127.0.0.1:0", Storage: store, DisableTrackers: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	tor, err := c.AddTorrent(context.Background(), mi)
	if err != nil {
		t.Fatal(err)
	}
	tor.AddPeers(peers...)
	return c, tor, mi
}

// pexFilledStore is a memory store holding every piece of tt, read from
// its data files and checked against the torrent.
func pexFilledStore(t *testing.T, tt *Torrent) *piececache.Memory {
	t.Helper()
	mi, err := metainfo.ReadFile(tt.Path)
	if err != nil {
		t.Fatal(err)
	}
	var stream []byte
	for _, f := range mi.Info.Files {
		b, err := os.ReadFile(filepath.Join(append([]string{tt.DataDir, mi.Info.Name}, f.Path...)...))
		if err != nil {
			t.Fatal(err)
		}
		stream = append(stream, b...)
	}
	store := piececache.NewMemory()
	for i := range mi.Info.NumPieces() {
		off := mi.Info.PieceOffset(i)
		piece := stream[off : off+mi.Info.PieceSize(i)]
		if sha1.Sum(piece) != mi.Info.Pieces[i] {
			t.Fatalf("interop: piece %d of the data does not match the torrent", i)
		}
		if err := store.Put(context.Background(), mi.InfoHash, i, piece); err != nil {
			t.Fatal(err)
		}
	}
	return store
}

func pexWaitPeers(t *testing.T, tor *fetcher.Torrent, n int, timeout time.Duration, what string) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for tor.Stats().Peers < n {
		if time.Now().After(deadline) {
			t.Fatalf("after %v: %s (%d peers, want %d)", timeout, what, tor.Stats().Peers, n)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestPEXToLibtorrent: torrentfs (holding nothing) is connected to a
// libtorrent seeder X; a libtorrent leecher L is told only of torrentfs.
// L downloads every byte, which only X has and only torrentfs's peer
// exchange names, and reports X as a peer from pex.
func TestPEXToLibtorrent(t *testing.T) {
	SkipIfShort(t)
	RequireLibtorrent(t)
	tt := MakeTorrent(t, pexSpec(), pexDeadTracker)
	portX := StartLibtorrentSeeder(t, tt, LibtorrentIP)
	addrX := netip.AddrPortFrom(netip.MustParseAddr(LibtorrentIP), uint16(portX))
	c, tor, _ := pexFetcher(t, tt, piececache.NewMemory(), addrX)
	pexWaitPeers(t, tor, 1, 20*time.Second, "torrentfs did not connect to the libtorrent seeder")

	dir := t.TempDir()
	l, _ := startPEXPeer(t, tt, dir, LeecherIP, 0, netip.MustParseAddrPort(c.Addr().String()))
	start := time.Now()
	l.WaitOutput(t, "complete\n", 60*time.Second)
	t.Logf("libtorrent completed %v after it connected to torrentfs", time.Since(start).Round(time.Millisecond))
	checkDownloaded(t, tt, dir)
	// L knew only torrentfs (no tracker answers, no DHT, no LSD): peer
	// exchange is the only way it can have heard of X.
	out := l.Stdout()
	t.Logf("libtorrent leecher's output:\n%s", out)
	if !strings.Contains(out, fmt.Sprintf("connect %s\n", addrX)) {
		t.Errorf("libtorrent never connected to %s:\n%s", addrX, out)
	}
	for _, line := range strings.Split(out, "\n") {
		if s, ok := strings.CutPrefix(line, "peer "+addrX.String()+" "); ok {
			if src, err := strconv.Atoi(s); err != nil || src&4 == 0 {
				t.Errorf("libtorrent says it learned of %s from source %q, want pex (4)", addrX, s)
			}
		}
	}
	if s := tor.Stats(); s.HavePieces != 0 {
		t.Errorf("torrentfs fetched %d pieces; the test needs it empty", s.HavePieces)
	}
}

// TestPEXFromLibtorrent: a libtorrent leecher H, rate-limited so that it
// stays one, is connected to a torrentfs seeder S; a torrentfs client T is
// told only of H. libtorrent's peer exchange names S, T connects to it and
// reads every byte at full speed.
func TestPEXFromLibtorrent(t *testing.T) {
	SkipIfShort(t)
	RequireLibtorrent(t)
	tt := MakeTorrent(t, pexSpec(), pexDeadTracker)
	cS, torS, _ := pexFetcher(t, tt, pexFilledStore(t, tt))
	addrS := netip.MustParseAddrPort(cS.Addr().String())
	_, addrH := startPEXPeer(t, tt, t.TempDir(), LibtorrentIP2, 4000, addrS)
	pexWaitPeers(t, torS, 1, 20*time.Second, "the libtorrent leecher did not connect to the torrentfs seeder")

	_, torT, _ := pexFetcher(t, tt, piececache.NewMemory(), addrH)
	start := time.Now()
	pexWaitPeers(t, torT, 2, 80*time.Second, "torrentfs did not connect to the peer libtorrent's peer exchange names")
	t.Logf("torrentfs connected to the peer from libtorrent's pex %v after joining", time.Since(start).Round(time.Millisecond))
	if n := torS.Stats().Peers; n != 2 {
		t.Fatalf("the torrentfs seeder has %d peers, want 2 (libtorrent and the client that learned of it by pex)", n)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for i, f := range tt.Spec.Files {
		got, err := pexReadAll(ctx, torT.NewReader(i))
		if err != nil {
			t.Fatalf("reading %s: %v", f.Path, err)
		}
		if sum := sha256.Sum256(got); hex.EncodeToString(sum[:]) != tt.SHA256(i) {
			t.Fatalf("%s: read %d bytes that differ from the %d written", f.Path, len(got), f.Size)
		}
	}
	t.Logf("read every file %v after joining", time.Since(start).Round(time.Millisecond))
}

// pexReadAll reads a file through r to its end, and closes r.
func pexReadAll(ctx context.Context, r *fetcher.Reader) ([]byte, error) {
	defer r.Close()
	var out []byte
	buf := make([]byte, 64<<10)
	for {
		n, err := r.ReadAt(ctx, buf, int64(len(out)))
		out = append(out, buf[:n]...)
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return out, err
		}
	}
}
