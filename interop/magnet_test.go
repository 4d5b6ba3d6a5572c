package interop

import (
	"bytes"
	"context"
	"encoding/base32"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/torrentfs/torrentfs/fetcher"
	"github.com/torrentfs/torrentfs/metainfo"
	"github.com/torrentfs/torrentfs/piececache"
)

// magnetSpec is a torrent whose info dictionary spans two BEP 9 pieces
// (900+ piece hashes), the second one short.
func magnetSpec() TorrentSpec {
	return TorrentSpec{
		Name:     "magnet",
		PieceLen: 32 << 10, // mktorrent's smallest
		Files: []DataFile{
			{Path: "big.bin", Size: 28<<20 + 777, Seed: 11},
			{Path: "sub/small.txt", Size: 1000, Seed: 12},
			{Path: "sub/mid.bin", Size: 300<<10 + 5, Seed: 13},
		},
	}
}

// magnetLogger logs the fetcher at debug level when TORRENTFS_TEST_LOG is set.
func magnetLogger(t *testing.T) *slog.Logger {
	if os.Getenv("TORRENTFS_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug})).With("test", t.Name())
	}
	return slog.New(slog.DiscardHandler)
}

// startFetcher starts an in-process torrentfs client on 127.0.0.1 that
// announces to trackers.
func startFetcher(t *testing.T, store fetcher.Storage) *fetcher.Client {
	t.Helper()
	c, err := fetcher.New(fetcher.Options{Logger: magnetLogger(t), ListenAddr: "127.0.0.1:0", Storage: store})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// TestMagnetFromLibtorrent: opentracker + a libtorrent seeder; torrentfs
// resolves magnet links (hex and base32 info hash, tracker only) to exactly
// the info dictionary of the .torrent file, and then downloads a file of
// the resolved torrent.
func TestMagnetFromLibtorrent(t *testing.T) {
	SkipIfShort(t)
	port := FreePort(t, "127.0.0.1")
	tt := MakeTorrent(t, magnetSpec(), OpentrackerURL(port))
	ot := StartOpentracker(t, port, tt.InfoHash)
	seederPort := StartLibtorrentSeeder(t, tt, LibtorrentIP)
	ot.WaitSeeders(t, tt.InfoHash, 1, 15*time.Second)
	want, err := metainfo.ReadFile(tt.Path)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(want.InfoBytes); n <= 16<<10 {
		t.Fatalf("info dictionary of %d bytes fits one BEP 9 piece; want several", n)
	}
	c := startFetcher(t, piececache.NewMemory())
	tr := "&tr=" + url.QueryEscape(ot.URL())
	hexHash := hex.EncodeToString(tt.InfoHash[:])
	var resolved *metainfo.MetaInfo
	for _, form := range []struct {
		name, uri    string
		wantTrackers [][]string
	}{
		{"hex", "magnet:?xt=urn:btih:" + hexHash + tr, [][]string{{ot.URL()}}},
		{"base32", "magnet:?xt=urn:btih:" + base32.StdEncoding.EncodeToString(tt.InfoHash[:]) + tr, [][]string{{ot.URL()}}},
		{"x.pe only", "magnet:?xt=urn:btih:" + strings.ToUpper(hexHash) + "&x.pe=" + net.JoinHostPort(LibtorrentIP, strconv.Itoa(seederPort)), nil},
	} {
		t.Run(form.name, func(t *testing.T) {
			m, err := metainfo.ParseMagnet(form.uri)
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			start := time.Now()
			var last fetcher.MagnetProgress
			mi, err := c.ResolveMagnet(ctx, m, func(p fetcher.MagnetProgress) { last = p })
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("resolved in %v: %+v", time.Since(start), last)
			if mi.InfoHash != want.InfoHash || !bytes.Equal(mi.InfoBytes, want.InfoBytes) || !reflect.DeepEqual(mi.Info, want.Info) {
				t.Fatalf("resolved %s (%d info bytes), want %s (%d)", mi.InfoHash, len(mi.InfoBytes), want.InfoHash, len(want.InfoBytes))
			}
			if !reflect.DeepEqual(mi.Trackers(), form.wantTrackers) {
				t.Errorf("trackers %q, want %q", mi.Trackers(), form.wantTrackers)
			}
			if form.wantTrackers != nil {
				resolved = mi
			}
		})
	}
	if resolved == nil {
		return
	}
	// The resolved torrent works: a file of it downloads from libtorrent.
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	tor, err := c.AddTorrent(ctx, resolved)
	if err != nil {
		t.Fatal(err)
	}
	for i, f := range resolved.Info.Files {
		if f.Length == 0 {
			continue
		}
		r := tor.NewReader(i)
		buf := make([]byte, f.Length)
		n, err := r.ReadAt(ctx, buf, 0)
		r.Close()
		if n != len(buf) {
			t.Fatalf("file %q: read %d of %d bytes: %v", f.Path, n, len(buf), err)
		}
		onDisk, err := os.ReadFile(filepath.Join(append([]string{tt.DataDir, resolved.Info.Name}, f.Path...)...))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(buf, onDisk) {
			t.Fatalf("file %q differs from the seeder's", f.Path)
		}
		break
	}
}

// magnetLeecherPy joins a torrent from a magnet link with python3-libtorrent
// (TCP only, no DHT/LSD/UPnP/NAT-PMP), connecting to one given peer too,
// and downloads it. It prints "metadata NAME" once it has the info
// dictionary and "complete" once it has every piece.
const magnetLeecherPy = `
import sys, time
import libtorrent as lt

uri, save_dir, ip, peer_ip, peer_port, timeout = sys.argv[1:]
ses = lt.session({
    "listen_interfaces": "%s:0" % ip,
    "outgoing_interfaces": ip,
    "enable_dht": False,
    "enable_lsd": False,
    "enable_upnp": False,
    "enable_natpmp": False,
    "enable_outgoing_utp": False,
    "enable_incoming_utp": False,
    "allow_multiple_connections_per_ip": True,
    "alert_mask": lt.alert.category_t.error_notification | lt.alert.category_t.peer_notification,
})
params = lt.parse_magnet_uri(uri)
params.save_path = save_dir
h = ses.add_torrent(params)
h.connect_peer((peer_ip, int(peer_port)))
deadline = time.monotonic() + float(timeout)
said_metadata = False
while True:
    for a in ses.pop_alerts():
        print("leecher: %s" % a.message(), file=sys.stderr, flush=True)
    st = h.status()
    if st.errc.value() != 0:
        print("leecher: torrent error: %s" % st.errc.message(), file=sys.stderr, flush=True)
        sys.exit(1)
    if st.has_metadata and not said_metadata:
        said_metadata = True
        print("metadata %s" % h.torrent_file().name(), flush=True)
    if st.is_seeding:
        print("complete", flush=True)
        sys.exit(0)
    if time.monotonic() > deadline:
        print("leecher: not done after %ss: metadata %s, %d pieces, %d peers"
              % (timeout, st.has_metadata, st.num_pieces, st.num_peers), file=sys.stderr, flush=True)
        sys.exit(1)
    time.sleep(0.05)
`

// fillFromDisk puts every piece of mi, read from the files under dir, into store.
func fillFromDisk(t *testing.T, mi *metainfo.MetaInfo, dir string, store fetcher.Storage) {
	t.Helper()
	var stream []byte
	for i, f := range mi.Info.Files {
		p := filepath.Join(append([]string{dir}, mi.Info.FullPath(i)...)...)
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if int64(len(b)) != f.Length {
			t.Fatalf("%s has %d bytes, want %d", p, len(b), f.Length)
		}
		stream = append(stream, b...)
	}
	for i := range mi.Info.NumPieces() {
		off := mi.Info.PieceOffset(i)
		if err := store.Put(context.Background(), mi.InfoHash, i, stream[off:off+mi.Info.PieceSize(i)]); err != nil {
			t.Fatal(err)
		}
	}
}

// TestLibtorrentMagnetFromTorrentFS: torrentfs seeds; a libtorrent
// leecher that knows only a magnet link fetches the info dictionary from
// torrentfs (BEP 9, our serving side) and then every piece.
func TestLibtorrentMagnetFromTorrentFS(t *testing.T) {
	SkipIfShort(t)
	RequireLibtorrent(t)
	port := FreePort(t, "127.0.0.1")
	tt := MakeTorrent(t, magnetSpec(), OpentrackerURL(port))
	ot := StartOpentracker(t, port, tt.InfoHash)
	mi, err := metainfo.ReadFile(tt.Path)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(mi.InfoBytes); n <= 16<<10 {
		t.Fatalf("info dictionary of %d bytes fits one BEP 9 piece; want several", n)
	}
	store := piececache.NewMemory()
	fillFromDisk(t, mi, tt.DataDir, store)
	c := startFetcher(t, store)
	if _, err := c.AddTorrent(context.Background(), mi); err != nil {
		t.Fatal(err)
	}
	ot.WaitSeeders(t, tt.InfoHash, 1, 15*time.Second)

	script := filepath.Join(t.TempDir(), "magnet_leecher.py")
	if err := os.WriteFile(script, []byte(magnetLeecherPy), 0o644); err != nil {
		t.Fatal(err)
	}
	_, ourPort, err := net.SplitHostPort(c.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	magnet := fmt.Sprintf("magnet:?xt=urn:btih:%s&dn=%s&tr=%s", hex.EncodeToString(tt.InfoHash[:]), tt.Name, url.QueryEscape(ot.URL()))
	dir := t.TempDir()
	const timeout = 60
	p := StartProc(t, ProcOptions{Stdin: true}, Python3, script, magnet, dir, LeecherIP, "127.0.0.1", ourPort, strconv.Itoa(timeout))
	ctx, cancel := contextWithTimeout((timeout + 10) * time.Second)
	defer cancel()
	code, err := p.Wait(ctx)
	if err != nil || code != 0 || !strings.Contains(p.Stdout(), "metadata "+tt.Name+"\n") || !strings.Contains(p.Stdout(), "complete") {
		t.Fatalf("libtorrent magnet leecher exit %d: %v\nstdout:\n%s\nstderr:\n%s", code, err, tail(p.Stdout(), 4096), tail(p.Stderr(), 8192))
	}
	checkDownloaded(t, tt, dir)
}
