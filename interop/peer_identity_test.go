package interop

import (
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"math/bits"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/torrentfs/torrentfs/fetcher"
	"github.com/torrentfs/torrentfs/fetcher/peerwire"
	"github.com/torrentfs/torrentfs/metainfo"
)

// identitySpec is a small two-file torrent: these tests are about who
// torrentfs finds and how it introduces itself, not about volume.
func identitySpec(name string, seed uint64) TorrentSpec {
	return TorrentSpec{
		Name:     name,
		PieceLen: 32 << 10,
		Files: []DataFile{
			{Path: "a.bin", Size: 300<<10 + 17, Seed: seed},
			{Path: "b.txt", Size: 777, Seed: seed + 1},
		},
	}
}

// remakeTorrent rebuilds tt's .torrent over the same data with mktorrent
// and the given extra arguments (its -a trackers, -p), and updates tt's
// path and info hash. Each -a argument is one BEP 12 tier; URLs joined by
// commas in one -a share a tier.
func remakeTorrent(t *testing.T, tt *Torrent, args ...string) {
	t.Helper()
	mk := RequireTool(t, "mktorrent", "mktorrent")
	out := filepath.Join(t.TempDir(), tt.Name+".torrent")
	args = append(args,
		"-l", strconv.Itoa(bits.TrailingZeros64(uint64(tt.Spec.PieceLen))),
		"-n", tt.Name,
		"-t", "1",
		"-o", out,
		filepath.Join(tt.DataDir, tt.Name))
	if b, err := exec.Command(mk, args...).CombinedOutput(); err != nil {
		t.Fatalf("interop: mktorrent %s: %v\n%s", strings.Join(args, " "), err, b)
	}
	raw, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	info, err := InfoBytes(raw)
	if err != nil {
		t.Fatalf("interop: mktorrent wrote %s: %v", out, err)
	}
	tt.Path, tt.InfoHash = out, sha1.Sum(info)
}

// checkMountedFilesWithin reads every file of tt through the kernel, each
// read bounded by timeout, and compares it with the source data.
func checkMountedFilesWithin(t *testing.T, m *Mount, tt *Torrent, timeout time.Duration) {
	t.Helper()
	for i, f := range tt.Spec.Files {
		data, err := ReadFileTimeout(tt.FilePath(m.Dir, i), timeout)
		if err != nil {
			t.Fatalf("reading %s through the mount: %v\nstderr:\n%s", f.Path, err, tail(m.Proc.Stderr(), 16<<10))
		}
		sum := sha256.Sum256(data)
		if got, want := hex.EncodeToString(sum[:]), tt.SHA256(i); got != want {
			t.Fatalf("%s: read %d bytes with sha256 %s, want %d bytes with sha256 %s", f.Path, len(data), got, f.Size, want)
		}
	}
}

// TestTrackerTierFailover (BEP 12): the torrent's first tier holds two
// dead trackers (HTTP and UDP on ports nobody listens on), its second
// Debian's opentracker, where a libtorrent seeder announces. torrentfs
// must fall through to the second tier, find the seeder there and serve
// every byte through the kernel.
func TestTrackerTierFailover(t *testing.T) {
	SkipIfShort(t)
	bin := BuildTorrentFS(t)
	RequireFUSE(t)
	port := FreePort(t, "127.0.0.1")
	deadHTTP := fmt.Sprintf("http://127.0.0.1:%d/announce", FreePort(t, "127.0.0.1"))
	deadUDP := fmt.Sprintf("udp://127.0.0.1:%d/announce", FreePort(t, "127.0.0.1"))
	tt := MakeTorrent(t, identitySpec("tiers", 71), OpentrackerURL(port))
	remakeTorrent(t, tt, "-a", deadHTTP+","+deadUDP, "-a", OpentrackerURL(port))
	mi, err := metainfo.ReadFile(tt.Path)
	if err != nil {
		t.Fatal(err)
	}
	wantTiers := [][]string{{deadHTTP, deadUDP}, {OpentrackerURL(port)}}
	if !reflect.DeepEqual(mi.Trackers(), wantTiers) {
		t.Fatalf("torrent's tiers are %q, want %q", mi.Trackers(), wantTiers)
	}

	ot := StartOpentracker(t, port, tt.InfoHash)
	StartLibtorrentSeeder(t, tt, LibtorrentIP)
	ot.WaitSeeders(t, tt.InfoHash, 1, 15*time.Second)

	start := time.Now()
	m := StartMount(t, bin, tt)
	m.WaitFiles(t, tt, 20*time.Second)
	checkMountedFilesWithin(t, m, tt, 25*time.Second)
	t.Logf("torrentfs served every byte %v after it started, through the second tier", time.Since(start).Round(time.Millisecond))
	log := m.Proc.Stderr()
	// The first tier was tried (both trackers, in vain) and the second
	// answered.
	for _, dead := range []string{deadHTTP, deadUDP} {
		if !logHas(log, "tracker announce failed", "tracker="+dead) {
			t.Errorf("torrentfs's log shows no failed announce to the first-tier tracker %s; did it skip the tier?\n%s", dead, tail(log, 8192))
		}
	}
	if !logHas(log, "tracker answered", "tracker="+OpentrackerURL(port)) {
		t.Errorf("torrentfs's debug log shows no answer from the second-tier tracker\n%s", tail(log, 8192))
	}
	if ot.Proc.Exited() {
		t.Fatalf("opentracker exited")
	}
	// torrentfs is in opentracker's swarm: it announced to the second tier.
	ot.WaitPeers(t, tt.InfoHash, 2, 5*time.Second)
	stopAndCheck(t, m)
}

// logHas reports whether some line of log contains every one of parts.
func logHas(log string, parts ...string) bool {
	for _, line := range strings.Split(log, "\n") {
		all := true
		for _, p := range parts {
			all = all && strings.Contains(line, p)
		}
		if all {
			return true
		}
	}
	return false
}

// extHandshake is what a fake peer saw of torrentfs's connection.
type extHandshake struct {
	peerID [20]byte
	m      map[string]any // the handshake's "m" dictionary
	v      string         // its "v" (client name and version)
	pex    int            // ut_pex messages torrentfs sent the fake peer
}

// fakePeer is a raw peer wire listener that accepts one connection from
// torrentfs, answers the BitTorrent handshake (advertising BEP 10 and
// ut_pex), and records torrentfs's extension handshake and any ut_pex
// message that follows. It holds no pieces. Close stops it and waits.
type fakePeer struct {
	ln   net.Listener
	ih   [20]byte
	name netip.AddrPort // the peer the fake peer's ut_pex message names
	wg   sync.WaitGroup
	once sync.Once
	done chan struct{} // closed by Close

	mu   sync.Mutex // guards conn, got and err
	conn net.Conn
	got  *extHandshake
	err  error
}

// fakePeerPEXID is the extended message id the fake peer asks for ut_pex.
const fakePeerPEXID = 7

func startFakePeer(t *testing.T, ip string, ih [20]byte, name netip.AddrPort) *fakePeer {
	t.Helper()
	ln, err := net.Listen("tcp", net.JoinHostPort(ip, "0"))
	if err != nil {
		t.Fatalf("fake peer: %v", err)
	}
	fp := &fakePeer{ln: ln, ih: ih, name: name, done: make(chan struct{})}
	fp.wg.Add(1)
	go fp.serve()
	t.Cleanup(fp.Close)
	return fp
}

func (fp *fakePeer) Addr() string { return fp.ln.Addr().String() }

func (fp *fakePeer) Close() {
	fp.once.Do(func() {
		close(fp.done)
		fp.ln.Close()
		fp.mu.Lock()
		if fp.conn != nil {
			fp.conn.Close()
		}
		fp.mu.Unlock()
	})
	fp.wg.Wait()
}

func (fp *fakePeer) fail(err error) {
	fp.mu.Lock()
	defer fp.mu.Unlock()
	if fp.err == nil {
		fp.err = err
	}
}

func (fp *fakePeer) serve() {
	defer fp.wg.Done()
	c, err := fp.ln.Accept()
	if err != nil {
		select {
		case <-fp.done:
		default:
			fp.fail(fmt.Errorf("fake peer: accept: %w", err))
		}
		return
	}
	fp.mu.Lock()
	fp.conn = c
	closed := false
	select {
	case <-fp.done:
		closed = true
	default:
	}
	fp.mu.Unlock()
	if closed {
		c.Close()
		return
	}
	defer c.Close()
	if err := fp.talk(c); err != nil {
		select {
		case <-fp.done:
		default:
			fp.fail(err)
		}
	}
}

func (fp *fakePeer) talk(c net.Conn) error {
	h, err := peerwire.ReadHandshake(c)
	if err != nil {
		return fmt.Errorf("fake peer: reading torrentfs's handshake: %w", err)
	}
	if h.InfoHash != fp.ih {
		return fmt.Errorf("fake peer: torrentfs asked for info hash %x, want %x", h.InfoHash, fp.ih)
	}
	if !h.Extended() {
		return errors.New("fake peer: torrentfs's handshake lacks the BEP 10 extension bit")
	}
	ours := peerwire.Handshake{InfoHash: fp.ih}
	ours.SetExtended()
	copy(ours.PeerID[:], "-FP0001-fakepeer0001")
	if err := peerwire.WriteHandshake(c, ours); err != nil {
		return err
	}
	payload, err := metainfo.Encode(map[string]any{
		"m": map[string]any{"ut_pex": int64(fakePeerPEXID)},
		"v": "fakepeer 1",
	})
	if err != nil {
		return err
	}
	if _, err := c.Write(peerwire.AppendMessage(nil, &peerwire.Message{ID: peerwire.Extended, Payload: payload})); err != nil {
		return fmt.Errorf("fake peer: writing extension handshake: %w", err)
	}
	d := peerwire.NewDecoder(c, 0)
	for {
		var msg peerwire.Message
		if err := d.Decode(&msg); err != nil {
			return nil // torrentfs hung up, or Close: what we saw is recorded
		}
		if msg.ID != peerwire.Extended {
			continue
		}
		switch msg.ExtendedID {
		case 0:
			v, err := metainfo.Decode(msg.Payload)
			if err != nil {
				return fmt.Errorf("fake peer: torrentfs's extension handshake %q: %w", msg.Payload, err)
			}
			dict, _ := v.(map[string]any)
			mdict, ok := dict["m"].(map[string]any)
			if !ok {
				return fmt.Errorf("fake peer: torrentfs's extension handshake %q has no \"m\" dictionary", msg.Payload)
			}
			name, _ := dict["v"].(string)
			fp.mu.Lock()
			fp.got = &extHandshake{peerID: h.PeerID, m: mdict, v: name}
			fp.mu.Unlock()
			if err := fp.sendPEX(c, mdict); err != nil {
				return err
			}
		case fakePeerPEXID:
			fp.mu.Lock()
			if fp.got != nil {
				fp.got.pex++
			}
			fp.mu.Unlock()
		}
	}
}

// torrentfsPEXID is the extended message id torrentfs gives ut_pex on
// public torrents. The fake peer sends its ut_pex message of a private
// torrent there, as a peer that ignores BEP 27 would.
const torrentfsPEXID = 2

// sendPEX sends torrentfs one ut_pex message naming fp.name, under the id
// torrentfs's handshake m gave ut_pex, or torrentfsPEXID if it gave none.
func (fp *fakePeer) sendPEX(c net.Conn, m map[string]any) error {
	id := int64(torrentfsPEXID)
	if v, ok := m["ut_pex"].(int64); ok {
		id = v
	}
	a := fp.name.Addr().As4()
	compact := append(a[:], byte(fp.name.Port()>>8), byte(fp.name.Port()))
	payload, err := metainfo.Encode(map[string]any{
		"added":   string(compact),
		"added.f": "\x10", // reachable
	})
	if err != nil {
		return err
	}
	msg := &peerwire.Message{ID: peerwire.Extended, ExtendedID: uint8(id), Payload: payload}
	if _, err := c.Write(peerwire.AppendMessage(nil, msg)); err != nil {
		return fmt.Errorf("fake peer: writing ut_pex: %w", err)
	}
	return nil
}

// canary is a listener that counts the connections it accepts, to see
// whether torrentfs dials a peer it heard of only by peer exchange.
type canary struct {
	ln net.Listener
	wg sync.WaitGroup

	mu sync.Mutex // guards n
	n  int
}

func startCanary(t *testing.T, ip string) *canary {
	t.Helper()
	ln, err := net.Listen("tcp", net.JoinHostPort(ip, "0"))
	if err != nil {
		t.Fatalf("canary: %v", err)
	}
	c := &canary{ln: ln}
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		for {
			conn, err := ln.Accept()
			if err != nil {
				return // Close
			}
			conn.Close()
			c.mu.Lock()
			c.n++
			c.mu.Unlock()
		}
	}()
	t.Cleanup(c.Close)
	return c
}

func (c *canary) AddrPort() netip.AddrPort { return netip.MustParseAddrPort(c.ln.Addr().String()) }

func (c *canary) Close() {
	c.ln.Close()
	c.wg.Wait()
}

// dialled reports how many connections the canary accepted.
func (c *canary) dialled() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n
}

// wait returns the extension handshake once torrentfs has sent it.
func (fp *fakePeer) wait(t *testing.T, m *Mount, timeout time.Duration) extHandshake {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		fp.mu.Lock()
		got, err := fp.got, fp.err
		fp.mu.Unlock()
		if err != nil {
			t.Fatal(err)
		}
		if got != nil {
			return *got
		}
		if time.Now().After(deadline) {
			t.Fatalf("fake peer at %s got no extension handshake from torrentfs within %v\nstderr:\n%s", fp.Addr(), timeout, tail(m.Proc.Stderr(), 16<<10))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestPrivateTorrentNoPEX (BEP 27): torrentfs mounts a private torrent
// (mktorrent -p) from a libtorrent seeder found through opentracker and
// serves its bytes; a raw peer it is told of (--peer) receives an
// extension handshake that offers ut_metadata but not ut_pex, and no
// ut_pex message even though it asked for them; a ut_pex message that
// raw peer sends anyway, naming a listening canary, does not make
// torrentfs dial the canary. The same torrent made public offers ut_pex
// to the same kind of peer, and torrentfs dials the canary it names.
func TestPrivateTorrentNoPEX(t *testing.T) {
	SkipIfShort(t)
	bin := BuildTorrentFS(t)
	RequireFUSE(t)
	RequireLibtorrent(t)
	for _, private := range []bool{true, false} {
		name := map[bool]string{true: "private", false: "public"}[private]
		t.Run(name, func(t *testing.T) {
			port := FreePort(t, "127.0.0.1")
			tt := MakeTorrent(t, identitySpec(name, 81), OpentrackerURL(port))
			if private {
				remakeTorrent(t, tt, "-a", OpentrackerURL(port), "-p")
			}
			mi, err := metainfo.ReadFile(tt.Path)
			if err != nil {
				t.Fatal(err)
			}
			if mi.Info.Private != private {
				t.Fatalf("torrent's private flag is %v, want %v", mi.Info.Private, private)
			}
			ot := StartOpentracker(t, port, tt.InfoHash)
			StartLibtorrentSeeder(t, tt, LibtorrentIP)
			ot.WaitSeeders(t, tt.InfoHash, 1, 15*time.Second)
			can := startCanary(t, "127.0.0.8")
			fp := startFakePeer(t, "127.0.0.7", tt.InfoHash, can.AddrPort())

			m := StartMount(t, bin, tt, "--peer", fp.Addr())
			m.WaitFiles(t, tt, 20*time.Second)
			checkMountedFilesWithin(t, m, tt, 20*time.Second)
			got := fp.wait(t, m, 10*time.Second)
			t.Logf("torrentfs's extension handshake for the %s torrent: v=%q m=%v", name, got.v, got.m)
			if _, ok := got.m["ut_metadata"]; !ok {
				t.Errorf("extension handshake m=%v lacks ut_metadata", got.m)
			}
			_, hasPEX := got.m["ut_pex"]
			if hasPEX == private {
				t.Errorf("%s torrent: extension handshake offers ut_pex=%v, want %v (m=%v)", name, hasPEX, !private, got.m)
			}
			// The fake peer answered torrentfs's handshake with a ut_pex
			// message naming the canary. On the public torrent torrentfs
			// dials it; on the private one it must not (BEP 27: peers come
			// from the tracker only).
			wait := 10 * time.Second
			if private {
				wait = 3 * time.Second
			}
			deadline := time.Now().Add(wait)
			for can.dialled() == 0 && time.Now().Before(deadline) {
				time.Sleep(20 * time.Millisecond)
			}
			if n := can.dialled(); (n > 0) == private {
				t.Errorf("%s torrent: torrentfs dialled the peer named only by peer exchange %d times within %v, want %v\nstderr:\n%s",
					name, n, wait, map[bool]string{true: "never", false: "at least once"}[private], tail(m.Proc.Stderr(), 8192))
			}
			t.Logf("%s torrent: torrentfs dialled the peer named only by peer exchange %d times", name, can.dialled())
			stopAndCheck(t, m)
			fp.Close()
			fp.mu.Lock()
			pex, fpErr := fp.got.pex, fp.err
			fp.mu.Unlock()
			if fpErr != nil {
				t.Fatal(fpErr) // e.g. the ut_pex message was never sent
			}
			if private && pex != 0 {
				t.Errorf("torrentfs sent %d ut_pex messages for a private torrent", pex)
			}
		})
	}
}

// identitySeederPy is a libtorrent seeder (TCP only, no DHT/LSD/UPnP/
// NAT-PMP) that reports how libtorrent sees its peers.
//
// Usage: identity_seeder.py TORRENT DATA_DIR LISTEN_IP
//
// It prints "port N" and "ready" once it seeds, then for every connected
// peer, whenever what libtorrent knows of it changes, a line
// "peer IP:PORT PID_HEX CLIENT" where CLIENT is peer_info.client (from
// the extension handshake's "v" or the peer id) and a line
// "idclient PID_HEX NAME" with libtorrent's identify_client of the peer id
// alone. It exits when stdin closes or on SIGTERM.
const identitySeederPy = pyPrelude + `
torrent, data, ip = sys.argv[1:4]

ses = lt.session({
    "listen_interfaces": "%s:0" % ip,
    "outgoing_interfaces": ip,
    "enable_dht": False, "enable_lsd": False, "enable_upnp": False, "enable_natpmp": False,
    "enable_outgoing_utp": False, "enable_incoming_utp": False,
    "allow_multiple_connections_per_ip": True,
    "alert_mask": lt.alert.category_t.error_notification,
})
params = lt.add_torrent_params()
params.ti = lt.torrent_info(torrent)
params.save_path = data
h = ses.add_torrent(params)
deadline = time.monotonic() + 30
while not h.status().is_seeding:
    if stop.wait(0.02) or time.monotonic() > deadline:
        print("identity_seeder: not seeding: %s" % h.status().state, file=sys.stderr, flush=True)
        os._exit(1)
while ses.listen_port() == 0 and not stop.wait(0.02):
    pass
print("port %d" % ses.listen_port(), flush=True)
print("ready", flush=True)
seen = set()
while not stop.wait(0.05):
    for pi in h.get_peer_info():
        pid = str(pi.pid)
        client = pi.client
        if isinstance(client, bytes):
            client = client.decode("utf-8", "replace")
        line = "peer %s:%d %s %s" % (pi.ip[0], pi.ip[1], pid, client)
        if line not in seen:
            seen.add(line)
            print(line, flush=True)
            print("idclient %s %s" % (pid, lt.identify_client(pi.pid)), flush=True)
    for a in ses.pop_alerts():
        print("identity_seeder: %s" % a.message(), file=sys.stderr, flush=True)
sys.stdout.flush()
os._exit(0)
`

// TestIdentityInLibtorrent: a libtorrent seeder sees torrentfs's
// connection as client "torrentfs <version>" (BEP 10 "v"), with an
// Azureus-style peer id "-TF<version digits>-" that libtorrent alone
// identifies as "TF <version>".
func TestIdentityInLibtorrent(t *testing.T) {
	SkipIfShort(t)
	bin := BuildTorrentFS(t)
	RequireFUSE(t)
	RequireLibtorrent(t)
	tt := MakeTorrent(t, identitySpec("identity", 91), pexDeadTracker)
	script := filepath.Join(t.TempDir(), "identity_seeder.py")
	if err := os.WriteFile(script, []byte(identitySeederPy), 0o644); err != nil {
		t.Fatal(err)
	}
	seeder := StartProc(t, ProcOptions{Stdin: true}, Python3, script, tt.Path, tt.DataDir, LibtorrentIP)
	seeder.WaitOutput(t, "ready\n", 30*time.Second)
	var seederPort int
	for _, line := range strings.Split(seeder.Stdout(), "\n") {
		if s, ok := strings.CutPrefix(line, "port "); ok {
			seederPort, _ = strconv.Atoi(s)
		}
	}
	if seederPort == 0 {
		t.Fatalf("identity_seeder.py printed no port:\n%s", seeder.Stdout())
	}
	addr := netip.AddrPortFrom(netip.MustParseAddr(LibtorrentIP), uint16(seederPort))

	m := StartMount(t, bin, tt, "--peer", addr.String())
	m.WaitFiles(t, tt, 20*time.Second)
	checkMountedFilesWithin(t, m, tt, 20*time.Second)

	wantClient := "torrentfs " + fetcher.Version
	wantPrefix := "-TF" + strings.ReplaceAll(fetcher.Version, ".", "") + "0-"
	wantID := "TF " + fetcher.Version
	deadline := time.Now().Add(10 * time.Second)
	var client, pid, idClient string
	for client != wantClient || idClient == "" {
		if time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
		for _, line := range strings.Split(seeder.Stdout(), "\n") {
			f := strings.SplitN(line, " ", 4)
			if len(f) == 4 && f[0] == "peer" && strings.HasPrefix(f[1], "127.0.0.1:") {
				pid, client = f[2], f[3]
			}
			if len(f) >= 3 && f[0] == "idclient" && f[1] == pid {
				idClient = strings.Join(f[2:], " ")
			}
		}
	}
	t.Logf("libtorrent reports torrentfs's connection as client %q, peer id %s, identify_client(peer id) %q", client, pid, idClient)
	if client != wantClient {
		t.Errorf("libtorrent's peer_info.client = %q, want %q\nseeder output:\n%s", client, wantClient, seeder.Stdout())
	}
	raw, err := hex.DecodeString(pid)
	if err != nil || len(raw) != 20 {
		t.Fatalf("libtorrent reported peer id %q, want 40 hex digits", pid)
	}
	if !strings.HasPrefix(string(raw), "-TF") || !strings.HasPrefix(string(raw), wantPrefix) {
		t.Errorf("peer id %q, want it to start with %q", raw, wantPrefix)
	}
	if idClient != wantID {
		t.Errorf("libtorrent's identify_client(peer id) = %q, want %q", idClient, wantID)
	}
	stopAndCheck(t, m)
}
