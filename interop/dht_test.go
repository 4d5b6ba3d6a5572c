package interop

import (
	"context"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/torrentfs/torrentfs/fetcher/dht"
)

// dhtSeederPy is a libtorrent seeder that finds its swarm through the DHT
// only: DHT on, bootstrapped from one node, with libtorrent's guards
// against local and same-subnet nodes off (every node here is on
// loopback); LSD, UPnP, NAT-PMP and uTP off.
//
// Usage: dht_seeder.py TORRENT DATA_DIR LISTEN_IP BOOTSTRAP_IP:PORT
//
// It prints "ready" once it seeds and has joined the DHT, asks for a DHT
// announce every second, and exits when stdin closes or on SIGTERM.
const dhtSeederPy = pyPrelude + `
torrent, data, ip, boot = sys.argv[1:5]

ses = lt.session({
    "listen_interfaces": "%s:0" % ip,
    "outgoing_interfaces": ip,
    "enable_dht": True,
    "dht_bootstrap_nodes": boot,
    "dht_restrict_routing_ips": False,
    "dht_restrict_search_ips": False,
    "dht_ignore_dark_internet": False,
    "dht_prefer_verified_node_ids": False,
    "enable_lsd": False, "enable_upnp": False, "enable_natpmp": False,
    "enable_outgoing_utp": False, "enable_incoming_utp": False,
    "allow_multiple_connections_per_ip": True,
    "alert_mask": lt.alert.category_t.error_notification | lt.alert.category_t.dht_notification,
})
params = lt.add_torrent_params()
params.ti = lt.torrent_info(torrent)
params.save_path = data
h = ses.add_torrent(params)
deadline = time.monotonic() + 30
joined = False
while not h.status().is_seeding or not joined:
    for a in ses.pop_alerts():
        joined = joined or isinstance(a, lt.dht_bootstrap_alert)
        print("dht_seeder: %s" % a.message(), file=sys.stderr, flush=True)
    if stop.wait(0.05) or time.monotonic() > deadline:
        print("dht_seeder: not ready: %s, DHT joined: %s" % (h.status().state, joined), file=sys.stderr, flush=True)
        os._exit(1)
print("ready", flush=True)
while not stop.wait(1):
    h.force_dht_announce()
    for a in ses.pop_alerts():
        print("dht_seeder: %s" % a.message(), file=sys.stderr, flush=True)
os._exit(0)
`

// TestDHTFindsALibtorrentSeeder: a libtorrent seeder announces its
// torrent on the DHT through a node of ours; torrentfs, whose torrent's
// only tracker is dead, finds it there (joined with --dht-bootstrap) and
// serves the files byte for byte.
func TestDHTFindsALibtorrentSeeder(t *testing.T) {
	SkipIfShort(t)
	bin := BuildTorrentFS(t)
	RequireFUSE(t)
	RequireLibtorrent(t)
	router, err := dht.Listen("127.0.0.1:0", dht.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer router.Close()
	tt := MakeTorrent(t, identitySpec("dht", 93), pexDeadTracker)
	script := filepath.Join(t.TempDir(), "dht_seeder.py")
	if err := os.WriteFile(script, []byte(dhtSeederPy), 0o644); err != nil {
		t.Fatal(err)
	}
	seeder := StartProc(t, ProcOptions{Stdin: true}, Python3, script, tt.Path, tt.DataDir, LibtorrentIP, router.Addr().String())
	seeder.WaitOutput(t, "ready\n", 30*time.Second)

	// The router learns the seeder's announce.
	lt := netip.MustParseAddr(LibtorrentIP)
	deadline := time.Now().Add(30 * time.Second)
	for {
		peers, _ := router.GetPeers(context.Background(), tt.InfoHash)
		if slices.ContainsFunc(peers, func(p netip.AddrPort) bool { return p.Addr() == lt }) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("libtorrent's announce never reached the DHT (peers %v); its log:\n%s", peers, seeder.Stderr())
		}
		time.Sleep(100 * time.Millisecond)
	}

	m := StartMount(t, bin, tt, "--dht-bootstrap", router.Addr().String())
	m.WaitFiles(t, tt, 20*time.Second)
	checkMountedFilesWithin(t, m, tt, 30*time.Second)
}
